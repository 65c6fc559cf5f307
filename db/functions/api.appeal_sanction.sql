CREATE FUNCTION api.appeal_sanction(p_sanction_id uuid, p_statement text) RETURNS lp.sanction_appeals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor     uuid := lp.require_user();
    v_statement text := lp.check_text(p_statement, 'statement', 4000, true);
    v_window    interval := make_interval(days => (lp.setting('appeals.window_days'))::integer);
    v_sanction  lp.user_sanctions;
    v_appeal    lp.sanction_appeals;
BEGIN
    -- Only the sanctioned user appeals; someone else's sanction looks like none at all (LP003).
    SELECT s.* INTO v_sanction FROM lp.user_sanctions AS s
     WHERE s.id = p_sanction_id AND s.user_id = v_actor
       FOR SHARE;
    IF v_sanction.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'sanction not found';
    END IF;
    IF v_sanction.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the sanction was lifted already';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.sanction_appeals AS a WHERE a.sanction_id = p_sanction_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP152', MESSAGE = 'the sanction was appealed already',
            HINT = 'One appeal per sanction: read its decision with api.my_sanctions.';
    END IF;
    IF now() > v_sanction.starts_at + v_window THEN
        RAISE EXCEPTION USING ERRCODE = 'LP151', MESSAGE = 'the appeal window is closed',
            DETAIL = format('appeals were possible until %s (appeals.window_days)', v_sanction.starts_at + v_window);
    END IF;

    INSERT INTO lp.sanction_appeals (sanction_id, user_id, statement)
    VALUES (p_sanction_id, v_actor, v_statement)
    ON CONFLICT (sanction_id) DO NOTHING
    RETURNING * INTO v_appeal;
    IF v_appeal.id IS NULL THEN  -- a concurrent appeal of the same sanction committed first
        RAISE EXCEPTION USING ERRCODE = 'LP152', MESSAGE = 'the sanction was appealed already';
    END IF;
    PERFORM lp.audit('appeal.file', 'sanction', p_sanction_id::text,
                     jsonb_build_object('appeal_id', v_appeal.id, 'sanction_type', v_sanction.sanction_type));
    RETURN v_appeal;
END
$$;
COMMENT ON FUNCTION api.appeal_sanction(uuid, text) IS 'The sanctioned user appeals one of their sanctions with a statement (1..4000 characters), once per sanction (LP152), within appeals.window_days of its start (LP151). LP003 no such sanction of theirs, LP004 already lifted. A user under a suspension or ban cannot authenticate: support files the appeal for them (api.act_as). Audited (appeal.file).';
REVOKE ALL ON FUNCTION api.appeal_sanction(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.appeal_sanction(uuid, text) TO livepanty_app, livepanty_service;
