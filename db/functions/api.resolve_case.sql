CREATE FUNCTION api.resolve_case(
    p_case_id          uuid,
    p_action           text,
    p_facts            text,
    p_rule             text,
    p_sanction_type    text DEFAULT NULL,
    p_sanction_ends_at timestamptz DEFAULT NULL
) RETURNS lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me       uuid := lp.require_user('moderator', 'admin');
    v_facts    text;
    v_rule     text;
    v_case     lp.reports;
    v_stream   lp.streams;
    v_sanction lp.user_sanctions;
    v_request  uuid;
    v_sanction_type text;
    v_removed  jsonb := '[]'::jsonb;
    v_appeal   text;
    v_flags    integer;
    v_lifted   integer := 0;
    v_released integer := 0;
    v_asked    integer := 0;
    v_revoked  lp.user_sanctions;
BEGIN
    PERFORM lp.check_choice(p_action, 'lp.case_action', 'case action');
    v_facts := lp.check_text(p_facts, 'facts', 2000, true);
    v_rule := lp.check_text(p_rule, 'rule', 1000, true);
    IF p_action = 'sanction' AND p_sanction_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the sanction action needs p_sanction_type';
    END IF;
    IF p_action <> 'sanction' AND (p_sanction_type IS NOT NULL OR p_sanction_ends_at IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_sanction_type and p_sanction_ends_at go with the sanction action only';
    END IF;
    -- (also refuses a case against the caller or one they filed on: LP002)
    v_case := lp.lock_claimed_case(p_case_id, v_me);
    IF p_action <> 'dismiss' AND v_case.reported_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the case has no reported user left to act upon',
            HINT = 'Dismiss it.';
    END IF;
    -- A warning or sanction needs an account to bind: not one its user deleted (the state of the case, not an
    -- unknown case: LP004, as for a case without a reported user).
    IF p_action IN ('warn', 'sanction') AND NOT EXISTS (
           SELECT 1 FROM lp.users AS u WHERE u.id = v_case.reported_user_id AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the reported user deleted their account',
            DETAIL = format('a %s binds no deleted account', CASE WHEN p_action = 'warn' THEN 'warning' ELSE 'sanction' END),
            HINT = 'Dismiss it (or remove the content or end the stream the case refers to).';
    END IF;

    -- The staff rule of api.sanction_user holds here too: only admins sanction (or warn) staff (lp.is_staff).
    IF p_action IN ('warn', 'sanction') AND lp.current_user_role() IS DISTINCT FROM 'admin' AND EXISTS (
           SELECT 1 FROM lp.users AS u
            WHERE u.id = v_case.reported_user_id AND lp.is_staff(u.role)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may sanction staff',
            HINT = 'Release the case for an admin (api.release_case).';
    END IF;

    -- A reported user who lives on another shard of a sharded installation (the sender of a cross-shard tip
    -- whose message was reported here) is only a stub: the warning or sanction is asked of their shard, where
    -- the relay has it issued once (lp.request_remote_sanction; docs/scale-out.md).
    IF p_action IN ('warn', 'sanction')
       AND EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = v_case.reported_user_id) THEN
        v_request := lp.request_remote_sanction(
            v_case.reported_user_id, CASE WHEN p_action = 'warn' THEN 'warning' ELSE p_sanction_type END, v_rule,
            p_sanction_ends_at, v_case.id, v_me);
        v_sanction_type := CASE WHEN p_action = 'warn' THEN 'warning' ELSE p_sanction_type END;
    ELSIF p_action = 'warn' THEN
        v_sanction := lp.issue_sanction(v_case.reported_user_id, 'warning', v_rule, NULL, v_case.id, v_me);
    ELSIF p_action = 'sanction' THEN
        v_sanction := lp.issue_sanction(v_case.reported_user_id, p_sanction_type, v_rule, p_sanction_ends_at,
                                        v_case.id, v_me);
    ELSIF p_action = 'end_stream' THEN
        SELECT s.* INTO v_stream FROM lp.streams AS s
         WHERE s.id = v_case.stream_id AND s.status IN ('scheduled', 'live') AND s.deleted_at IS NULL
           FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the case has no live or scheduled stream to end';
        END IF;
        PERFORM lp.close_stream(v_stream, format('moderation: %s', v_rule), 'admin');
    ELSIF p_action = 'remove_content' THEN
        -- The content the case refers to: a reported tip's message is deleted here; what the detectors
        -- pointed at (their content references) is listed in the decision for the content service to take down.
        IF v_case.tip_id IS NOT NULL THEN
            UPDATE lp.tips AS t SET message = NULL WHERE t.id = v_case.tip_id AND t.message IS NOT NULL;
            v_removed := v_removed || jsonb_build_array(jsonb_build_object('tip_id', v_case.tip_id));
        END IF;
        SELECT v_removed || coalesce(jsonb_agg(jsonb_build_object('content_type', f.content_type,
                                                                  'content_ref', f.content_ref)), '[]'::jsonb)
          INTO v_removed
          FROM lp.moderation_flags AS f WHERE f.case_id = v_case.id AND f.content_ref IS NOT NULL;
        IF v_removed = '[]'::jsonb THEN
            RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the case refers to no content to remove';
        END IF;
    END IF;

    -- A dismissal lifts what the automated sources did pending review: every automated sanction (issued_by
    -- NULL) not lifted yet that names the case (a flag's suspension, the chargeback's tip_block) or that the
    -- case names, on the reported user; and the payout_holds a chargeback put on the performers who received
    -- the buyer's tokens (lp.fraud_on_chargeback: automated, naming the case). Those are the case's own: a
    -- performer whom another open case holds keeps that case's payout_hold (its own row), so only this case's
    -- go. Each lift is audited (sanction.revoke), as api.decide_appeal's; a pending appeal of it becomes moot.
    -- The lift's reason is the statement of reasons for the reported user only (theirs to read, as through
    -- api.my_case_decisions); a performer's payout_hold says only that the case was dismissed: the facts about
    -- the buyer are nobody else's (she reads the revoke reason, and her moot appeal repeats it).
    IF p_action = 'dismiss' THEN
        FOR v_revoked IN
            UPDATE lp.user_sanctions AS s
               SET revoked_at = now(), revoked_by = v_me,
                   revoke_reason = CASE WHEN s.user_id IS NOT DISTINCT FROM v_case.reported_user_id
                                        THEN left(format('case dismissed: %s', v_facts), 1000)
                                        ELSE 'case dismissed' END
             WHERE s.issued_by IS NULL AND s.revoked_at IS NULL
               AND (s.id = v_case.sanction_id
                    OR (s.report_id = v_case.id AND s.user_id = v_case.reported_user_id)
                    OR (s.report_id = v_case.id AND s.sanction_type = 'payout_hold'))
            RETURNING s.*
        LOOP
            IF v_revoked.user_id IS NOT DISTINCT FROM v_case.reported_user_id THEN
                v_lifted := v_lifted + 1;
            ELSE
                v_released := v_released + 1;
            END IF;
            PERFORM lp.audit('sanction.revoke', 'user', v_revoked.user_id::text,
                             jsonb_build_object('sanction_id', v_revoked.id, 'case_id', v_case.id,
                                                'reason', 'case dismissed'));
            PERFORM lp.moot_appeal(v_revoked);  -- its pending appeal, if any, has nothing left to decide
        END LOOP;
        -- On a shard of a sharded installation, the payout_holds the chargeback asked of the shards of performers
        -- who live elsewhere (lp.payout_hold_requests; none on a single node) are lifted there: a lift asked of
        -- each, which the relay delivers once, after the hold request itself (shard.claim_hold_lifts), and which
        -- revokes only the payout_hold that request issued (docs/scale-out.md), with the reason a performer's
        -- payout_hold gets here (never the facts about the buyer).
        INSERT INTO lp.payout_hold_lifts (hold_request_id, to_shard, case_id, reason, lifted_by)
        SELECT h.id, h.to_shard, v_case.id, 'case dismissed', v_me
          FROM lp.payout_hold_requests AS h
         WHERE h.case_id = v_case.id
         ORDER BY h.created_at, h.id
        ON CONFLICT (hold_request_id) DO NOTHING;
        GET DIAGNOSTICS v_asked = ROW_COUNT;
    END IF;

    v_appeal := CASE
        WHEN v_request IS NOT NULL THEN format(
            'The sanction is applied to your account shortly (it lives on another database of the platform); from then on you may appeal it once, within %s days of its start, with a statement (api.appeal_sanction; livepanty-db appeals file); a moderator other than the one who decided reviews it.',
            lp.setting('appeals.window_days'))
        WHEN v_sanction.id IS NOT NULL OR (v_case.sanction_id IS NOT NULL AND v_lifted = 0) THEN format(
            'You may appeal the sanction once, within %s days of its start, with a statement (api.appeal_sanction; livepanty-db appeals file); a moderator other than the one who decided reviews it.',
            lp.setting('appeals.window_days'))
        WHEN p_action = 'dismiss' AND v_lifted > 0 THEN
            'No action was taken against you; the automated restriction put on your account pending this review was lifted.'
        WHEN p_action = 'dismiss' THEN 'No action was taken against you.'
        ELSE 'You may contest this decision through support, quoting the case id; a different moderator reviews it.'
        END;
    UPDATE lp.reports AS r
       SET status = CASE WHEN p_action = 'dismiss' THEN 'dismissed' ELSE 'resolved' END::lp.case_status,
           action = p_action::lp.case_action,
           resolved_by = v_me, resolved_at = now(), claim_expires_at = NULL,
           resolution = v_facts,
           sanction_id = coalesce(v_sanction.id, r.sanction_id),
           decision = jsonb_build_object(
               'facts', v_facts, 'rule', v_rule, 'automated', false, 'action', p_action,
               'sanction_type', coalesce(v_sanction.sanction_type::text, v_sanction_type),
               'sanction_ends_at', CASE WHEN v_request IS NULL THEN v_sanction.ends_at ELSE p_sanction_ends_at END,
               'removed_content', v_removed, 'automated_sanction_lifted', v_lifted > 0,
               'appeal', v_appeal, 'decided_at', now())
               || CASE WHEN v_request IS NULL THEN '{}'::jsonb
                       ELSE jsonb_build_object('sanction_request_id', v_request) END
     WHERE r.id = v_case.id
    RETURNING r.* INTO v_case;
    -- Feedback to the detectors: every flag of the case is confirmed (acted upon) or dismissed by this human.
    UPDATE lp.moderation_flags AS f
       SET status = CASE WHEN p_action = 'dismiss' THEN 'dismissed' ELSE 'confirmed' END,
           reviewed_by = v_me, reviewed_at = now()
     WHERE f.case_id = v_case.id AND f.reviewed_by IS NULL;
    GET DIAGNOSTICS v_flags = ROW_COUNT;
    PERFORM lp.audit('case.resolve', 'report', v_case.id::text,
                     jsonb_build_object('action', p_action, 'reported_user_id', v_case.reported_user_id,
                                        'sanction_id', v_sanction.id, 'sanction_request_id', v_request,
                                        'flags_reviewed', v_flags,
                                        'automated_sanction_lifted', v_lifted > 0,
                                        'payout_holds_lifted', v_released,
                                        'payout_hold_lifts_asked', v_asked));
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION api.resolve_case(uuid, text, text, text, text, timestamptz) IS 'Moderators and admins holding a running claim on the case: resolves it with p_action (lp.case_action): dismiss, warn (a warning), remove_content (a reported tip''s message is deleted; flagged content references are listed for take-down), end_stream (the case''s live or scheduled stream), or sanction (p_sanction_type, p_sanction_ends_at through lp.issue_sanction; on a shard of a sharded installation, a reported user of another shard is warned or sanctioned on their own shard: lp.request_remote_sanction asks it, the relay delivers it once, and the decision names the request as sanction_request_id). Always with a statement of reasons: p_facts and p_rule (required), stored in decision with whether it was automated and how to appeal, readable by the reported user (api.my_case_decisions). Only admins warn or sanction staff (LP002, as api.sanction_user). A dismissal lifts every automated sanction of the reported user that names the case or that the case names (a flag''s suspension, a chargeback''s tip_block) and the automated payout_holds that name the case on the performers who received a charged-back buyer''s tokens (a performer another open case holds keeps that case''s own), each audited sanction.revoke (case.resolve counts the payout_holds lifted), revoke reason ''case dismissed: <facts>'' for the reported user''s and ''case dismissed'' for a performer''s (the statement of reasons is the reported user''s alone); on a shard of a sharded installation the payout_holds the case asked of other shards are lifted there too (lp.payout_hold_lifts, delivered once by the relay after the hold request; case.resolve counts them in payout_hold_lifts_asked); an appeal of one still pending is closed as moot (lp.moot_appeal). The case''s flags become confirmed or dismissed (detector precision). LP002 other roles, a moderator sanctioning staff, or a case against the caller, one they filed a report on or one whose sanction''s appeal they decided (lp.lock_claimed_case), LP003 unknown case, LP004 closed case, nothing to act upon, or a warning or sanction of a user who deleted their account, LP142 another moderator''s claim, LP143 no running claim of the caller, LP018 bad action or missing statement. Audited (case.resolve).';
REVOKE ALL ON FUNCTION api.resolve_case(uuid, text, text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.resolve_case(uuid, text, text, text, text, timestamptz) TO livepanty_app, livepanty_service;
