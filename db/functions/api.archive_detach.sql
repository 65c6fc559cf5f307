CREATE FUNCTION api.archive_detach(
    p_partition      text,
    p_boundary       timestamptz,
    p_file_name      text,
    p_file_sha256    text,
    p_row_count      bigint,
    p_content_sha256 text
) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    v_part   record;
    v_now    record;
    v_seal   record;
    v_id     uuid;
BEGIN
    PERFORM 1 FROM lp.locks AS k WHERE k.name = 'ledger.partitions' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.locks row ledger.partitions is missing';
    END IF;
    v_part := lp.month_partition(p_partition);
    IF p_boundary IS NULL OR v_part.range_to > p_boundary THEN
        RAISE EXCEPTION USING ERRCODE = 'LP190', MESSAGE = format('%s is not below the boundary %s', p_partition, p_boundary);
    END IF;
    -- As api.archive_prepare: nothing within the windows read without a carry-forward (lp.archive_horizon).
    IF p_boundary > lp.archive_horizon() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP190',
            MESSAGE = format('the archive boundary %s is too recent', p_boundary),
            DETAIL = format('entries since %s stay in the database: spending limits count the last 720 hours, '
                            'payouts the earnings of the last payouts.hold_days days', lp.archive_horizon());
    END IF;
    IF p_file_name IS NULL OR char_length(p_file_name) NOT BETWEEN 1 AND 1000
       OR coalesce(p_file_sha256, '') !~ '^[0-9a-f]{64}$' OR coalesce(p_content_sha256, '') !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'file name (1..1000 characters) and hex sha256 digests are required';
    END IF;
    SELECT * INTO v_seal FROM lp.checkpoint_digest(p_boundary);
    IF v_part.parent = 'lp.ledger'::regclass AND v_seal.accounts = 0
       AND EXISTS (SELECT 1 FROM lp.ledger AS l WHERE l.created_at < p_boundary) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP194', MESSAGE = format('no checkpoint at %s: run api.archive_prepare first', p_boundary);
    END IF;
    -- Nothing leaves the database that is not verifiably in the file: the caller wrote it, synced it and read it
    -- back; what it read must be what the partition holds now, row for row (the digest covers every value and
    -- the id order), and holds until it is dropped. The ledger.partitions lock keeps other runs from attaching
    -- or detaching meanwhile; the partition's own lock keeps writers out: a transaction that began before the
    -- boundary may still insert into it (its rows carry its start time). SHARE conflicts with every insert's
    -- ROW EXCLUSIVE and waits for those in flight, so the digest below (a new snapshot, taken after the lock)
    -- sees every row the partition will ever hold; readers go on until DETACH PARTITION (which locks the
    -- parent, then the partition, as they do). Computed before the lock, a row committed after the digest was
    -- waited for by DETACH and dropped, in neither the database nor the file. Under REPEATABLE READ or
    -- SERIALIZABLE the snapshot is the transaction's, possibly older than the lock: refused.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP195',
            MESSAGE = format('%s can only be compared with its archive file in a READ COMMITTED transaction', p_partition),
            DETAIL = format('this transaction is %s: its snapshot may miss rows committed before the partition was locked',
                            current_setting('transaction_isolation')),
            HINT = 'Call api.archive_detach in a READ COMMITTED transaction (livepanty-db archive does).';
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', v_part.partition_oid);
    SELECT * INTO v_now FROM lp.partition_digest(v_part.partition_oid);
    IF v_now.row_count IS DISTINCT FROM p_row_count OR v_now.content_sha256 IS DISTINCT FROM p_content_sha256 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP195',
            MESSAGE = format('the archive file does not hold what %s holds', p_partition),
            DETAIL = format('partition: %s rows, %s; file: %s rows, %s', v_now.row_count, v_now.content_sha256,
                            p_row_count, p_content_sha256);
    END IF;
    INSERT INTO lp.archives (table_name, partition_name, range_from, range_to, boundary, checkpoint_accounts,
                             checkpoint_sha256, file_name, file_sha256, content_sha256, row_count, first_id, last_id)
    VALUES (v_part.parent::text, p_partition, v_part.range_from, v_part.range_to, p_boundary, v_seal.accounts,
            v_seal.sha256, p_file_name, p_file_sha256, p_content_sha256, p_row_count, v_now.first_id, v_now.last_id)
    RETURNING id INTO v_id;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', v_part.parent, v_part.partition_oid);
    EXECUTE format('DROP TABLE %s', v_part.partition_oid);
    PERFORM lp.audit('partitions.archive', 'partition', p_partition,
                     jsonb_build_object('archive_id', v_id, 'boundary', p_boundary, 'file', p_file_name,
                                        'file_sha256', p_file_sha256, 'rows', p_row_count));
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION api.archive_detach(text, timestamptz, text, text, bigint, text) IS 'Back office (livepanty_service), last step of livepanty-db archive for one partition: under the ledger.partitions lock, checks that the partition is below p_boundary and p_boundary no later than lp.archive_horizon (LP190) and that the checkpoint there exists (LP194), locks the partition against writers (SHARE: it waits for inserts in flight), then checks that the file the caller wrote and read back holds exactly the partition''s rows (p_row_count and p_content_sha256 against lp.partition_digest now: LP195 otherwise; LP195 also in a transaction that is not READ COMMITTED, whose snapshot could miss rows committed before the lock), records the archive (lp.archives, with the checkpoint''s seal), detaches and drops the partition, audited (partitions.archive). Returns the archive id. LP193 for a name that is no attached monthly partition, LP018 for a missing file name or a malformed digest.';
REVOKE ALL ON FUNCTION api.archive_detach(text, timestamptz, text, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.archive_detach(text, timestamptz, text, text, bigint, text) TO livepanty_service;
