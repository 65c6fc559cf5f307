CREATE FUNCTION api.end_show(p_show_id uuid, p_reason text DEFAULT NULL) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_reason text := lp.check_text(p_reason, 'reason', 1000);
    v_show   lp.shows;
    v_by     text;
BEGIN
    v_show := lp.lock_show(p_show_id, ARRAY['requested', 'open', 'running'], 'end');
    IF v_show.host_id = v_actor THEN
        v_by := 'host';
    ELSIF lp.current_user_role() IS NOT DISTINCT FROM 'admin' THEN
        v_by := 'admin';
        IF v_reason IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'an admin ending someone''s show gives a reason';
        END IF;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host or an admin ends a show';
    END IF;
    -- The performer's (or an admin's) doing: only completed minutes are billed; a show that had not run is
    -- cancelled (a request declined) and every reservation released, tickets included.
    v_show := lp.finish_show(v_show, CASE v_show.status WHEN 'running' THEN 'ended' WHEN 'requested' THEN 'declined'
                                                         ELSE 'cancelled' END, v_by, v_reason);
    PERFORM lp.audit('show.end', 'show', v_show.id::text,
                     jsonb_build_object('status', v_show.status, 'by', v_by, 'reason', v_reason));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.end_show(uuid, text) IS 'The host (reason optional) or an admin (reason required) ends a show: a running one ends and its viewers owe only completed minutes; an open one is cancelled and a request declined, every reservation released (tickets refunded). The money is settled by api.bill_shows. LP002 neither host nor admin, LP003 unknown show, LP004 already over, LP018 an admin without a reason. Audited (show.end).';
REVOKE ALL ON FUNCTION api.end_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.end_show(uuid, text) TO livepanty_app, livepanty_service;
