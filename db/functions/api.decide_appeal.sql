CREATE FUNCTION api.decide_appeal(p_appeal_id uuid, p_granted boolean, p_reasons text) RETURNS lp.sanction_appeals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor    uuid := lp.require_user('moderator', 'admin');
    v_reasons  text := lp.check_text(p_reasons, 'reasons', 2000, true);
    v_appeal   lp.sanction_appeals;
    v_sanction lp.user_sanctions;
    v_sanction_id uuid;
    v_lifted   boolean := false;
BEGIN
    IF p_granted IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'granted must be true or false';
    END IF;
    -- The sanction, then its appeal, both locked: the order of api.appeal_sanction, and of api.revoke_sanction
    -- and api.resolve_case, which lift a sanction and then close its pending appeal (lp.moot_appeal). An
    -- appeal's sanction never changes, so it is read unlocked first.
    SELECT a.sanction_id INTO v_sanction_id FROM lp.sanction_appeals AS a WHERE a.id = p_appeal_id;
    SELECT s.* INTO v_sanction FROM lp.user_sanctions AS s WHERE s.id = v_sanction_id FOR UPDATE;
    SELECT a.* INTO v_appeal FROM lp.sanction_appeals AS a WHERE a.id = p_appeal_id FOR UPDATE;
    IF v_appeal.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'appeal not found';
    END IF;
    IF v_appeal.status <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004',
            MESSAGE = CASE WHEN v_appeal.status = 'moot' THEN 'the appeal was closed: its sanction was lifted'
                           ELSE 'the appeal was decided already' END,
            DETAIL = format('%s at %s', v_appeal.status, v_appeal.decided_at);
    END IF;
    -- A different moderator: never the one who issued the sanction, never the one who resolved its case (an
    -- automated sanction has no issuer: the moderator who kept it in force by resolving its case decided it),
    -- never one who reported that case, never the appellant.
    IF v_sanction.issued_by IS NOT DISTINCT FROM v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'the issuer of a sanction may not decide its appeal',
            HINT = 'Another moderator or admin decides.';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = v_sanction.report_id AND r.resolved_by = v_actor)
       OR EXISTS (SELECT 1 FROM lp.reports AS r
                   WHERE r.reported_user_id = v_sanction.user_id AND r.sanction_id = v_sanction.id
                     AND r.resolved_by = v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002',
            MESSAGE = 'the moderator who resolved the case of a sanction may not decide its appeal',
            HINT = 'Another moderator or admin decides.';
    END IF;
    -- Nor a moderator who filed a report on that case: the accuser does not judge the appeal (nobody works a
    -- case they reported: api.claim_case, lp.lock_claimed_case).
    IF EXISTS (SELECT 1 FROM lp.report_filings AS f JOIN lp.reports AS r ON r.id = f.case_id
                WHERE f.reporter_id = v_actor
                  AND (r.id = v_sanction.report_id
                       OR (r.reported_user_id = v_sanction.user_id AND r.sanction_id = v_sanction.id))) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002',
            MESSAGE = 'a moderator who reported the case of a sanction may not decide its appeal',
            HINT = 'Another moderator or admin decides.';
    END IF;
    IF v_appeal.user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may decide their own appeal';
    END IF;
    IF lp.current_user_role() IS DISTINCT FROM 'admin'
       AND EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_appeal.user_id AND lp.is_staff(u.role)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins decide appeals of staff';
    END IF;

    UPDATE lp.sanction_appeals AS a
       SET status = CASE WHEN p_granted THEN 'granted' ELSE 'denied' END::lp.appeal_status,
           decided_by = v_actor, decided_at = now(), decision_reasons = v_reasons
     WHERE a.id = p_appeal_id
    RETURNING * INTO v_appeal;
    -- A granted appeal lifts the sanction (unless it was lifted meanwhile); a denied one keeps it.
    IF p_granted AND v_sanction.revoked_at IS NULL THEN
        UPDATE lp.user_sanctions AS s
           SET revoked_at = now(), revoked_by = v_actor,
               revoke_reason = left('appeal granted: ' || v_reasons, 1000)
         WHERE s.id = v_sanction.id;
        v_lifted := true;
        PERFORM lp.audit('sanction.revoke', 'user', v_sanction.user_id::text,
                         jsonb_build_object('sanction_id', v_sanction.id, 'appeal_id', v_appeal.id,
                                            'reason', 'appeal granted'));
    END IF;
    PERFORM lp.audit('appeal.decide', 'sanction', v_sanction.id::text,
                     jsonb_build_object('appeal_id', v_appeal.id, 'user_id', v_appeal.user_id,
                                        'granted', p_granted, 'sanction_lifted', v_lifted));
    RETURN v_appeal;
END
$$;
COMMENT ON FUNCTION api.decide_appeal(uuid, boolean, text) IS 'Moderators and admins other than the sanction''s issuer, the moderator who resolved its case (lp.reports: the case it names, or the case naming it) and anyone who filed a report on that case (LP002) decide a pending appeal (LP004 decided already, or moot: closed when its sanction was lifted) with a statement of reasons (1..2000 characters) that the appellant reads: granted lifts the sanction (revoked now, audited sanction.revoke), denied keeps it. Only admins decide appeals of staff; nobody decides their own. LP003 unknown appeal, LP018 p_granted NULL or reasons missing. Audited (appeal.decide).';
REVOKE ALL ON FUNCTION api.decide_appeal(uuid, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.decide_appeal(uuid, boolean, text) TO livepanty_app, livepanty_service;
