CREATE FUNCTION api.purge_personal_data(
    p_category text,
    p_limit    integer DEFAULT 1000
) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_category text := lp.check_choice(p_category, 'lp.retention_category', 'category');
    v_days     integer;
    v_cutoff   timestamptz;
    v_count    integer := 0;
    v_n        integer;
    v_closed   integer := 0;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100000';
    END IF;
    -- One batch: at most p_limit rows of the oldest due ones, skipping rows locked right now. Resumable by
    -- construction: what is due is read from the data each time, so the job is called again until it returns
    -- less than p_limit (livepanty-db privacy purge does). The ledger is never touched.
    v_days := (lp.setting(CASE v_category
                              WHEN 'sessions' THEN 'privacy.session_retention_days'
                              WHEN 'reset_tokens' THEN 'privacy.reset_token_retention_days'
                              WHEN 'viewer_rows' THEN 'privacy.viewer_retention_days'
                              WHEN 'stream_events' THEN 'events.retention_days'
                              WHEN 'ip_addresses' THEN 'privacy.ip_retention_days'
                              WHEN 'dismissed_reports' THEN 'privacy.dismissed_report_retention_days'
                              WHEN 'emails' THEN 'privacy.email_retention_days'
                              ELSE 'privacy.kyc_retention_years' END))::integer;
    v_cutoff := CASE WHEN v_category = 'kyc_records' THEN now() ELSE now() - make_interval(days => v_days) END;
    CASE v_category
    WHEN 'sessions' THEN
        -- Sessions that ended (expired or revoked) before the cutoff.
        DELETE FROM lp.auth_sessions AS s
         WHERE s.id IN (SELECT o.id FROM lp.auth_sessions AS o
                         WHERE least(o.expires_at, coalesce(o.revoked_at, 'infinity')) < v_cutoff
                         ORDER BY least(o.expires_at, coalesce(o.revoked_at, 'infinity'))
                         LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    WHEN 'reset_tokens' THEN
        -- Tokens that stopped being usable (expired, used or revoked) before the cutoff.
        DELETE FROM lp.password_reset_tokens AS t
         WHERE t.id IN (SELECT o.id FROM lp.password_reset_tokens AS o
                         WHERE least(o.expires_at, coalesce(o.used_at, 'infinity'), coalesce(o.revoked_at, 'infinity')) < v_cutoff
                         ORDER BY o.created_at
                         LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    WHEN 'viewer_rows' THEN
        -- Viewings that ended before the cutoff (an open one is never deleted).
        DELETE FROM lp.stream_viewers AS v
         WHERE v.id IN (SELECT o.id FROM lp.stream_viewers AS o
                         WHERE o.left_at < v_cutoff
                         ORDER BY o.left_at
                         LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    WHEN 'stream_events' THEN
        v_count := api.purge_stream_events(p_limit);
    WHEN 'ip_addresses' THEN
        -- Addresses recorded before the cutoff are nulled (the rows stay); p_limit per table. Consent records
        -- keep theirs (a legal record; cut to the network by an erasure).
        PERFORM lp.begin_scrub();
        UPDATE lp.auth_sessions AS s SET ip_address = NULL
         WHERE s.id IN (SELECT o.id FROM lp.auth_sessions AS o
                         WHERE o.created_at < v_cutoff AND o.ip_address IS NOT NULL
                         ORDER BY o.created_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_count := v_count + v_n;
        UPDATE lp.password_reset_tokens AS t SET requested_ip = NULL
         WHERE t.id IN (SELECT o.id FROM lp.password_reset_tokens AS o
                         WHERE o.created_at < v_cutoff AND o.requested_ip IS NOT NULL
                         ORDER BY o.created_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_count := v_count + v_n;
        UPDATE lp.stream_viewers AS v SET ip_address = NULL
         WHERE v.id IN (SELECT o.id FROM lp.stream_viewers AS o
                         WHERE o.joined_at < v_cutoff AND o.ip_address IS NOT NULL
                         ORDER BY o.joined_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_count := v_count + v_n;
        UPDATE lp.audit_logs AS a SET ip_address = NULL
         WHERE a.id IN (SELECT o.id FROM lp.audit_logs AS o
                         WHERE o.occurred_at < v_cutoff AND o.ip_address IS NOT NULL
                         ORDER BY o.occurred_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_count := v_count + v_n;
        PERFORM set_config('lp.scrub', '', true);
    WHEN 'emails' THEN
        -- Messages no longer queued (sent, failed, superseded, expired, cancelled): their payload is already
        -- gone; the recipient address goes with the row.
        DELETE FROM lp.outbox AS m
         WHERE m.id IN (SELECT o.id FROM lp.outbox AS o
                         WHERE o.status <> 'queued' AND o.updated_at < v_cutoff
                         ORDER BY o.updated_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    WHEN 'dismissed_reports' THEN
        DELETE FROM lp.reports AS r
         WHERE r.id IN (SELECT o.id FROM lp.reports AS o
                         WHERE o.status = 'dismissed' AND o.resolved_at < v_cutoff
                         ORDER BY o.resolved_at LIMIT p_limit FOR UPDATE SKIP LOCKED);
        GET DIAGNOSTICS v_count = ROW_COUNT;
    ELSE
        -- kyc_records: erased users whose identity verification records passed their legal retention.
        WITH due AS (
            SELECT e.id, e.user_id FROM lp.erasures AS e
             WHERE e.kyc_destroyed_at IS NULL AND e.kyc_retained_until < v_cutoff
             ORDER BY e.kyc_retained_until LIMIT p_limit FOR UPDATE SKIP LOCKED
        ), destroyed AS (
            UPDATE lp.erasures AS e SET kyc_destroyed_at = now()
              FROM due WHERE e.id = due.id
            RETURNING e.user_id
        )
        -- v_closed: the erasures marked destroyed, counted (and audited) even when none of their records had
        -- personal content left to destroy (v_count counts the records changed). The erasures are the unit of
        -- p_limit, so they are what this category returns: a batch of fewer than p_limit means none is left.
        SELECT count(*)::integer, coalesce(sum(lp.destroy_kyc_records(d.user_id)), 0)::integer
          INTO v_closed, v_count
          FROM destroyed AS d;
    END CASE;
    IF v_count > 0 OR v_closed > 0 THEN
        PERFORM lp.audit('privacy.purge', 'retention_category', v_category,
                         jsonb_build_object('purged', v_count, 'cutoff', v_cutoff, 'limit', p_limit)
                         || CASE WHEN v_category = 'kyc_records' THEN jsonb_build_object('erasures', v_closed)
                                 ELSE '{}'::jsonb END,
                         NULL, NULL);
    END IF;
    RETURN CASE WHEN v_category = 'kyc_records' THEN v_closed ELSE v_count END;
END
$$;
COMMENT ON FUNCTION api.purge_personal_data(text, integer) IS 'Back office retention job (livepanty-db privacy purge), one batch of one category (lp.retention_category): sessions and reset tokens that ended more than privacy.session_retention_days / privacy.reset_token_retention_days ago (deleted), viewer rows of viewings that ended more than privacy.viewer_retention_days ago (deleted), stream events (api.purge_stream_events), IP addresses older than privacy.ip_retention_days (nulled in sessions, reset tokens, viewer rows and the audit trail; at most p_limit per table), reports dismissed more than privacy.dismissed_report_retention_days ago (deleted), e-mails sent or given up more than privacy.email_retention_days ago (deleted), KYC records of erased users past kyc_retained_until (destroyed). At most p_limit rows (kyc_records: erasures), oldest first, locked rows skipped; returns the rows purged (kyc_records: the erasures whose records were destroyed, whatever number of records that changed); call again until it returns less than p_limit. Audited with the count (privacy.purge; for kyc_records also erasures, the erasures marked destroyed) when it did anything, a kyc_records batch that only marked erasures whose records had nothing left to destroy included; never touches the ledger. LP018 unknown category or p_limit outside 1..100000.';
REVOKE ALL ON FUNCTION api.purge_personal_data(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.purge_personal_data(text, integer) TO livepanty_service;
