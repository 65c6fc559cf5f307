CREATE FUNCTION api.report(
    p_target_type text,
    p_target_id   uuid,
    p_reason      text,
    p_description text DEFAULT NULL
) RETURNS lp.report_filings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me          uuid := lp.require_user();
    v_description text;
    v_reported    uuid;
    v_stream      uuid;
    v_tip         uuid;
    v_trusted     boolean;
    v_case        lp.reports;
    v_filing      lp.report_filings;
    v_limit       integer;
    v_recent      bigint;
BEGIN
    PERFORM lp.check_choice(p_target_type, 'lp.report_target', 'report target');
    PERFORM lp.check_choice(p_reason, 'lp.case_reason', 'report reason');
    IF p_reason = 'sanction_review' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'sanction_review is not a reason a user may report';
    END IF;
    IF p_target_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_target_id is required';
    END IF;
    v_description := lp.check_text(p_description, 'description', 2000, false);

    IF p_target_type IN ('user', 'profile') THEN
        SELECT u.id INTO v_reported FROM lp.users AS u WHERE u.id = p_target_id AND u.deleted_at IS NULL;
    ELSIF p_target_type = 'stream' THEN
        -- (a stream the reporter may not see is "not found": its existence is not told)
        SELECT s.host_id, s.id INTO v_reported, v_stream
          FROM lp.streams AS s WHERE s.id = p_target_id AND s.deleted_at IS NULL AND lp.stream_visible(s.id, v_me);
    ELSE
        -- A tip message is the sender's words; it can be reported by whoever saw it: its recipient, or anyone
        -- when it was sent in a stream the reporter may see (shown in the stream's chat). Other tips are "not found".
        SELECT t.sender_id, t.stream_id, t.id INTO v_reported, v_stream, v_tip
          FROM lp.tips AS t
         WHERE t.id = p_target_id
           AND (t.recipient_id = v_me OR t.sender_id = v_me OR lp.stream_visible(t.stream_id, v_me));
    END IF;
    IF v_reported IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = format('%s not found', p_target_type);
    END IF;
    IF v_reported = v_me THEN
        RAISE EXCEPTION USING ERRCODE = 'LP140', MESSAGE = 'nobody can report themselves',
            DETAIL = format('the %s is yours', p_target_type);
    END IF;

    -- Report volume: a user files at most review.max_reports_per_hour reports in any sixty minutes (their own
    -- filings, every case counted: each filing is on another case, LP141), so one account cannot flood the
    -- queue. Staff, and the back office filing for a user (api.act_as, audited with its reason), are not
    -- limited. Read through report_filings_reporter_idx (reporter_id, created_at).
    -- Concurrent calls of one reporter are serialised on the reporter's own lp.users row (FOR NO KEY UPDATE, as
    -- the user's own api.submit_kyc and api.change_password: foreign keys onto the row key-share it, which this
    -- does not wait for; no application role can lock a user row): a second report waits here for the first to
    -- commit or roll back, and its count, a statement of its own taken after the lock (READ COMMITTED: a new
    -- snapshot), sees the first's filing. It is the first lock api.report takes, so a report holds nothing while
    -- it waits for it; the one it takes after (the case row, lp.file_case) is of another user's target (LP140),
    -- and whoever holds a case row and waits for a user row waits for that of the case's own user (a KYC
    -- override's underage case, a sanction), never the reporter's: no cycle. A reporter whose account was
    -- deleted meanwhile is refused as by lp.require_user. Not taken by the exempt callers (not limited).
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_me AND lp.is_staff(u.role))
       AND current_setting('lp.acting_via', true) IS DISTINCT FROM 'service' THEN
        PERFORM 1 FROM lp.users AS u WHERE u.id = v_me AND u.deleted_at IS NULL FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP001', MESSAGE = 'the acting user does not exist or was deleted',
                DETAIL = format('lp.user_id = %s', v_me);
        END IF;
        v_limit := (lp.setting('review.max_reports_per_hour'))::integer;
        SELECT count(*) INTO v_recent
          FROM lp.report_filings AS f
         WHERE f.reporter_id = v_me AND f.created_at > now() - interval '1 hour';
        IF v_recent >= v_limit THEN
            RAISE EXCEPTION USING ERRCODE = 'LP145', MESSAGE = 'too many reports in the last hour',
                DETAIL = format('at most %s reports per hour (review.max_reports_per_hour)', v_limit),
                HINT = format('Try again after %s.',
                              (SELECT min(f.created_at) + interval '1 hour'
                                 FROM (SELECT f2.created_at FROM lp.report_filings AS f2
                                        WHERE f2.reporter_id = v_me AND f2.created_at > now() - interval '1 hour'
                                        ORDER BY f2.created_at DESC LIMIT v_limit) AS f));
        END IF;
    END IF;

    v_trusted := lp.reporter_trusted(v_me);
    v_case := lp.file_case('report', p_reason, p_target_type, v_reported,
                           CASE WHEN p_target_type = 'stream' THEN v_stream END, v_tip, NULL);
    IF EXISTS (SELECT 1 FROM lp.report_filings AS f WHERE f.case_id = v_case.id AND f.reporter_id = v_me) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP141', MESSAGE = 'you already reported this',
            DETAIL = 'one report per reporter per open case; it is being reviewed',
            HINT = 'Add nothing: further reports of yours do not change the case.';
    END IF;
    INSERT INTO lp.report_filings (case_id, reporter_id, description, trusted)
    VALUES (v_case.id, v_me, v_description, v_trusted)
    RETURNING * INTO v_filing;
    UPDATE lp.reports AS r
       SET reporter_count = r.reporter_count + 1,
           trusted_reporter_count = r.trusted_reporter_count + CASE WHEN v_trusted THEN 1 ELSE 0 END,
           -- the first reporter, on a case that a report opened only (never on one a flag, the fraud controls
           -- or a system job opened: lp.reports.reporter_id stays NULL on automated cases)
           reporter_id = CASE WHEN r.source = 'report' THEN coalesce(r.reporter_id, v_me) ELSE r.reporter_id END
     WHERE r.id = v_case.id;
    v_case := lp.rescore_case(v_case.id);
    PERFORM lp.audit('report.file', 'report', v_case.id::text,
                     jsonb_build_object('filing_id', v_filing.id, 'target_type', p_target_type,
                                        'target_id', p_target_id, 'reason', p_reason, 'trusted', v_trusted,
                                        'reporter_count', v_case.reporter_count, 'priority', v_case.priority));
    RETURN v_filing;
END
$$;
COMMENT ON FUNCTION api.report(text, uuid, text, text) IS 'Any user: reports a user, a stream (its host is the reported user), a tip message (its sender) or a profile for a reason of lp.case_reason (not sanction_review), with an optional description (at most 2000 characters). Reports of the same target and reason merge into the one open case (reporter count, priority recomputed); a reporter with many dismissed reports is deprioritised (lp.reporter_trusted). Returns the filing; the reporter reads their filings (lp.report_filings), never the case, its decision or its other sources, and is the case''s reporter_id only on a case a report opened. LP140 reporting yourself, LP141 already reported this open case, LP145 review.max_reports_per_hour reports filed in the last hour (staff and the back office acting for a user are not limited; concurrent reports of one user wait for one another on the reporter''s user row, so a burst cannot pass the limit), LP003 unknown target (or a stream the reporter may not see, lp.stream_visible, or a tip they cannot have seen), LP018 bad target type, reason or description. Audited (report.file).';
REVOKE ALL ON FUNCTION api.report(text, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.report(text, uuid, text, text) TO livepanty_app, livepanty_service;
