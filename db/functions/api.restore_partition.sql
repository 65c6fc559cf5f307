CREATE FUNCTION api.restore_partition(p_archive_id uuid, p_rows text[] DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    v_arch   lp.archives;
    v_table  text;
    v_parent regclass;
    v_count  bigint;
    v_now    record;
    v_users  uuid[];
    v_ips    inet[];
    v_erased integer := 0;
BEGIN
    PERFORM 1 FROM lp.locks AS k WHERE k.name = 'ledger.partitions' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.locks row ledger.partitions is missing';
    END IF;
    SELECT * INTO v_arch FROM lp.archives AS a WHERE a.id = p_archive_id AND a.restored_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP196', MESSAGE = format('no archived partition %s waits to be restored', p_archive_id);
    END IF;
    -- The partition's own name back (lp.archives allows only lp_partitions.<table>_YYYY_MM), quoted.
    v_table := format('%I.%I', 'lp_partitions', split_part(v_arch.partition_name, '.', 2));
    v_parent := v_arch.table_name::regclass;
    -- Rows: into a standalone table of the parent's shape (created on the first call), in the caller's order.
    IF p_rows IS NOT NULL THEN
        IF to_regclass(v_table) IS NULL THEN
            EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_table::text, v_parent);
        END IF;
        EXECUTE format('INSERT INTO %s SELECT (json_populate_record(NULL::%s, r::json)).* FROM unnest($1) WITH ORDINALITY AS u (r, n) ORDER BY n',
                       v_table::regclass, v_parent) USING p_rows;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        RETURN v_count;
    END IF;
    -- Finish: the restored rows must be exactly the archived ones (count and content digest), then attach.
    IF to_regclass(v_table) IS NULL THEN
        EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_table::text, v_parent);
    END IF;
    SELECT * INTO v_now FROM lp.partition_digest(v_table::regclass);
    IF v_now.row_count <> v_arch.row_count OR v_now.content_sha256 <> v_arch.content_sha256 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP195',
            MESSAGE = format('the restored rows are not those archived from %s', v_table),
            DETAIL = format('archived: %s rows, %s; restored: %s rows, %s', v_arch.row_count, v_arch.content_sha256,
                            v_now.row_count, v_now.content_sha256);
    END IF;
    IF v_arch.table_name = 'lp.audit_logs' THEN
        -- The file was written before some erasures: their users' rows come back as they were archived. An
        -- erasure that is under way (lp.erase inserts its lp.erasures row while it scrubs, api.replay_erasure
        -- locks it first) is waited for, and one that starts now waits for this restore to commit (then its
        -- scrub sees the month attached): no erasure is missed. Only owner code can lock lp.erasures.
        LOCK TABLE lp.erasures IN EXCLUSIVE MODE;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', v_parent, v_table::regclass,
                   v_arch.range_from, v_arch.range_to);
    PERFORM lp.secure_partition(v_table::regclass);
    EXECUTE format('COMMENT ON TABLE %s IS %L', v_table::regclass,
                   format('%s entries of %s (UTC). Reach it through %s.', v_arch.table_name,
                          to_char(v_arch.range_from AT TIME ZONE 'UTC', 'YYYY-MM'), v_arch.table_name));
    IF v_arch.table_name = 'lp.audit_logs' THEN
        -- Every erasure applied again to the restored month, as lp.erase_personal_data scrubs the audit trail:
        -- the users' own rows, those about them, the anonymous ones from the addresses their own rows of the
        -- month show (their other addresses were nulled with the erasure), the mailer's errors about them.
        SELECT array_agg(e.user_id) INTO v_users FROM lp.erasures AS e;
        IF v_users IS NOT NULL THEN
            SELECT coalesce(array_agg(DISTINCT a.ip_address), '{}') INTO v_ips
              FROM lp.audit_logs AS a
             WHERE a.occurred_at >= v_arch.range_from AND a.occurred_at < v_arch.range_to
               AND a.actor_id IN (SELECT e.user_id FROM lp.erasures AS e) AND a.ip_address IS NOT NULL;
            PERFORM lp.begin_scrub();
            v_erased := lp.scrub_audit_logs(v_users, v_ips, v_arch.range_from, v_arch.range_to);
            PERFORM set_config('lp.scrub', '', true);  -- append-only again
        END IF;
    END IF;
    UPDATE lp.archives SET restored_at = now() WHERE id = v_arch.id;
    PERFORM lp.audit('partitions.restore', 'partition', v_table,
                     jsonb_build_object('archive_id', v_arch.id, 'rows', v_now.row_count,
                                        'erasures_applied', v_erased));
    RETURN v_now.row_count;
END
$$;
COMMENT ON FUNCTION api.restore_partition(uuid, text[]) IS 'Back office (livepanty_service), livepanty-db archive restore, in one transaction: each call with p_rows (row_to_json texts from the archive file, in file order) adds them to a standalone copy of the archived partition and returns how many it added; the final call without p_rows checks that the copy holds exactly the archived rows (count and content digest: LP195 otherwise, and the transaction leaves nothing), attaches and secures it, applies every erasure of lp.erasures to a restored audit month (lp.scrub_audit_logs: the addresses and free text of the erased users'' rows, as the erasure scrubbed the rest of the trail; so the attached month differs from the file wherever an erasure came after the archive), marks the archive restored and audits it (partitions.restore, with erasures_applied: the rows scrubbed). LP196 when the archive does not exist or is restored already.';
REVOKE ALL ON FUNCTION api.restore_partition(uuid, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.restore_partition(uuid, text[]) TO livepanty_service;
