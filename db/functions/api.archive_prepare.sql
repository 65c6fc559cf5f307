CREATE FUNCTION api.archive_prepare(p_before timestamptz)
RETURNS TABLE (table_name text, partition_name text, range_from timestamptz, range_to timestamptz,
               row_count bigint, first_id bigint, last_id bigint, content_sha256 text,
               checkpoint_accounts integer, checkpoint_sha256 text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    v_prev    timestamptz := lp.archive_boundary();
    v_cut     record;
    v_waiting bigint;
    v_seal    record;
    v_fresh   text;
    v_horizon timestamptz := lp.archive_horizon();
    v_added   bigint;
    v_new     boolean := false;
BEGIN
    IF p_before IS NULL OR p_before <> date_trunc('month', p_before, 'UTC') OR p_before > date_trunc('month', now(), 'UTC') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP190',
            MESSAGE = 'the archive boundary must be the start of a UTC month no later than the current one',
            DETAIL = format('given: %s', p_before);
    END IF;
    IF p_before < v_prev THEN
        RAISE EXCEPTION USING ERRCODE = 'LP190',
            MESSAGE = format('the archive boundary %s is below the current one (%s)', p_before, v_prev);
    END IF;
    -- What reads the recent ledger by time without a carry-forward (spending limits, the payout hold) must find
    -- its whole window in the database (lp.archive_horizon).
    IF p_before > v_horizon THEN
        RAISE EXCEPTION USING ERRCODE = 'LP190',
            MESSAGE = format('the archive boundary %s is too recent', p_before),
            DETAIL = format('entries since %s stay in the database: spending limits count the last 720 hours, '
                            'payouts the earnings of the last payouts.hold_days days', v_horizon),
            HINT = 'Choose an earlier boundary.';
    END IF;
    PERFORM 1 FROM lp.locks AS k WHERE k.name = 'ledger.partitions' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.locks row ledger.partitions is missing';
    END IF;
    -- Rows of an archived month still waiting in a default partition would be left out: move them first.
    SELECT (SELECT count(*) FROM lp_partitions.ledger_default AS d WHERE d.created_at < p_before)
         + (SELECT count(*) FROM lp_partitions.audit_logs_default AS d WHERE d.occurred_at < p_before)
      INTO v_waiting;
    IF v_waiting > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP191',
            MESSAGE = format('%s rows before %s wait in a default partition', v_waiting, p_before),
            HINT = 'Run livepanty-db jobs partitions (api.maintain_partitions) first: it moves them into their month''s partition.';
    END IF;
    -- The boundary must not cut a chain: per account, every entry before it precedes (by id) every entry at or
    -- after it. An entry whose transaction started before the boundary but was written after a later one of the
    -- same account would otherwise leave the checkpoint's balance without the entry the next one follows.
    SELECT b.wallet_id, b.shard, b.last_before, a.first_after INTO v_cut
      FROM (SELECT l.wallet_id, l.shard, max(l.id) AS last_before FROM lp.ledger AS l
             WHERE l.created_at < p_before GROUP BY l.wallet_id, l.shard) AS b
      JOIN LATERAL (SELECT min(l.id) AS first_after FROM lp.ledger AS l
                     WHERE l.wallet_id = b.wallet_id AND l.shard = b.shard AND l.created_at >= p_before) AS a ON true
     WHERE a.first_after < b.last_before
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP192',
            MESSAGE = format('the boundary %s cuts the chain of account %s/%s', p_before, v_cut.wallet_id, v_cut.shard),
            DETAIL = format('entry %s (before the boundary) comes after entry %s (after it) in the chain', v_cut.last_before,
                            v_cut.first_after),
            HINT = 'Choose an earlier boundary.';
    END IF;
    -- The checkpoint: each account's last entry before the boundary, or, for an account whose entries there are
    -- archived already, its row in the previous checkpoint; with it, per user wallet, the carry-forward of what
    -- lp.payable_tokens sums (lp.earnings_checkpoint). Recorded once per boundary, then sealed. A checkpoint
    -- recorded before migration 0057 gets its carry-forward on the next run (0057 was applied with no ledger
    -- partition archived, so the entries it sums are all here).
    IF NOT EXISTS (SELECT 1 FROM lp.ledger_checkpoints AS c WHERE c.boundary = p_before) THEN
        INSERT INTO lp.ledger_checkpoints (boundary, wallet_id, shard, balance, last_entry_id)
        SELECT DISTINCT ON (x.wallet_id, x.shard) p_before, x.wallet_id, x.shard, x.balance, x.id
          FROM (SELECT l.wallet_id, l.shard, l.balance_after AS balance, l.id FROM lp.ledger AS l
                 WHERE l.created_at < p_before
                UNION ALL
                SELECT c.wallet_id, c.shard, c.balance, c.last_entry_id FROM lp.ledger_checkpoints AS c
                 WHERE c.boundary = v_prev) AS x
         ORDER BY x.wallet_id, x.shard, x.id DESC;
        v_new := true;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.earnings_checkpoints AS e WHERE e.boundary = p_before) THEN
        INSERT INTO lp.earnings_checkpoints (boundary, wallet_id, earned, spent, refunded)
        SELECT p_before, e.wallet_id, e.earned, e.spent, e.refunded FROM lp.earnings_checkpoint(p_before, v_prev) AS e;
        GET DIAGNOSTICS v_added = ROW_COUNT;
        v_new := v_new OR v_added > 0;
    END IF;
    SELECT * INTO v_seal FROM lp.checkpoint_digest(p_before);
    IF v_new THEN
        PERFORM lp.audit('ledger.checkpoint', 'checkpoint', p_before::text,
                         jsonb_build_object('accounts', v_seal.accounts, 'sha256', v_seal.sha256,
                                            'earnings_wallets',
                                            (SELECT count(*) FROM lp.earnings_checkpoints AS e WHERE e.boundary = p_before)));
    END IF;
    -- Sealed: a second run must find the same balances (nothing before the boundary may have changed).
    SELECT encode(ext.digest(to_char(p_before AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || E'\n'
                             || coalesce(string_agg(format('%s/%s/%s/%s', y.wallet_id, y.shard, y.balance, y.id), E'\n'
                                                    ORDER BY y.wallet_id, y.shard), '')
                             || coalesce((SELECT E'\nearnings\n'
                                                 || string_agg(format('%s/%s/%s/%s', e.wallet_id, e.earned, e.spent,
                                                                      e.refunded), E'\n' ORDER BY e.wallet_id)
                                            FROM lp.earnings_checkpoint(p_before, v_prev) AS e), ''),
                             'sha256'), 'hex')
      INTO v_fresh
      FROM (SELECT DISTINCT ON (x.wallet_id, x.shard) x.wallet_id, x.shard, x.balance, x.id
              FROM (SELECT l.wallet_id, l.shard, l.balance_after AS balance, l.id FROM lp.ledger AS l
                     WHERE l.created_at < p_before
                    UNION ALL
                    SELECT c.wallet_id, c.shard, c.balance, c.last_entry_id FROM lp.ledger_checkpoints AS c
                     WHERE c.boundary = v_prev) AS x
             ORDER BY x.wallet_id, x.shard, x.id DESC) AS y;
    IF v_fresh <> v_seal.sha256 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP194',
            MESSAGE = format('the checkpoint at %s no longer matches the ledger before it', p_before);
    END IF;
    -- The attached monthly partitions below the boundary, oldest first, each with its content digest.
    FOR table_name, partition_name, range_from, range_to IN
        SELECT p.parent::text, c.oid::regclass::text, p.range_from, p.range_to
          FROM pg_catalog.pg_class AS c
         CROSS JOIN LATERAL lp.month_partition(c.oid::regclass::text) AS p
         WHERE c.relnamespace = 'lp_partitions'::regnamespace AND c.relkind = 'r' AND c.relispartition
           AND c.relname !~ '_default$'
         ORDER BY p.range_from, p.parent::text
    LOOP
        CONTINUE WHEN range_to > p_before;
        SELECT d.row_count, d.first_id, d.last_id, d.content_sha256 INTO row_count, first_id, last_id, content_sha256
          FROM lp.partition_digest(partition_name::regclass) AS d;
        checkpoint_accounts := v_seal.accounts;
        checkpoint_sha256 := v_seal.sha256;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.archive_prepare(timestamptz) IS 'Back office (livepanty_service), first step of livepanty-db archive: checks the boundary p_before (a UTC month start, not after the current month nor lp.archive_horizon, i.e. at least 720 hours and payouts.hold_days days ago, not below the current archive boundary: LP190), that no row before it waits in a default partition (LP191) and that it cuts no account''s chain (LP192); records the checkpoint of every account''s balance at the boundary and the carry-forward of lp.payable_tokens per user wallet (lp.earnings_checkpoints) once (audited, ledger.checkpoint) and checks its seal still matches the ledger (LP194). Returns the attached monthly partitions of lp.ledger and lp.audit_logs below the boundary with their rows, id range and content digest (what the archive file must hold) and the checkpoint''s seal.';
REVOKE ALL ON FUNCTION api.archive_prepare(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.archive_prepare(timestamptz) TO livepanty_service;
