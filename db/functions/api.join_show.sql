CREATE FUNCTION api.join_show(p_show_id uuid, p_idempotency_key text) RETURNS lp.show_participants
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_viewer  uuid := lp.require_user();
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 123, true);
    v_old     lp.show_participants := lp.show_replay(v_viewer, v_key, p_show_id, NULL);
    v_show    lp.shows;
    v_stream  lp.streams;
    v_role    text;
    v_rate    bigint;
    v_amount  bigint;
    v_purpose text;
    v_hold    lp.holds;
    v_row     lp.show_participants;
BEGIN
    IF v_old.id IS NOT NULL THEN
        PERFORM lp.note_replay('api.join_show', p_idempotency_key);
        RETURN v_old;
    END IF;
    PERFORM lp.assert_not_sanctioned(v_viewer);
    -- The stream first (FOR SHARE, as a join: its end waits for the join and then ends the show). A show the
    -- viewer may not see (lp.show_visible) finds no stream: LP003, as an unknown show, before the stream's state
    -- or the viewer's presence is told (lp.read_show checks it again).
    SELECT s.* INTO v_stream FROM lp.streams AS s
     WHERE s.id = (SELECT x.stream_id FROM lp.shows AS x WHERE x.id = p_show_id) AND s.deleted_at IS NULL
       AND lp.show_visible(p_show_id, v_viewer)
       FOR SHARE;
    PERFORM lp.show_viewer_check(v_stream, v_viewer);
    -- The viewer's spend counter (docs/ledger.md, step 1: the hold's lp.count_spend finds it held); the billing
    -- job takes it SKIP LOCKED. The show row is read, not locked: a viewer's transaction may stay open, and the
    -- host's transitions, the billing job and the other viewers' joins must not wait for it. A start or an end
    -- that commits while this join is in flight does not see its participant row: api.bill_shows gives it the
    -- show's start, or settles it as the end decides (docs/streams.md, Concurrency and idempotency).
    PERFORM lp.lock_spend_counter(v_viewer);
    -- A concurrent retry with the same key (or another join of this viewer's) waited for the first call on the
    -- counter: it replays it (or finds the viewer in the show).
    v_old := lp.show_replay(v_viewer, v_key, p_show_id, NULL);
    IF v_old.id IS NOT NULL THEN
        PERFORM lp.note_replay('api.join_show', p_idempotency_key);
        RETURN v_old;
    END IF;
    v_show := lp.read_show(p_show_id, ARRAY['open', 'running'], 'be joined');
    IF EXISTS (SELECT 1 FROM lp.show_participants AS p WHERE p.show_id = v_show.id AND p.user_id = v_viewer) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'you are already in this show';
    END IF;
    IF v_show.show_type = 'ticket' AND v_show.status = 'running' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'tickets are sold before the show starts';
    END IF;
    IF v_show.show_type = 'private' AND v_show.spy_rate IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP128', MESSAGE = 'this private show takes no spies';
    END IF;
    -- What they take part as, and what is reserved now: a ticket its price; a group show its minimum
    -- duration; a spy shows.prepay_minutes ahead (topped up while it runs, as for everyone paying per minute).
    v_role := CASE v_show.show_type WHEN 'ticket' THEN 'ticket' WHEN 'private' THEN 'spy' ELSE 'payer' END;
    v_rate := CASE WHEN v_role = 'spy' THEN v_show.spy_rate ELSE v_show.rate END;
    v_amount := CASE v_role WHEN 'ticket' THEN v_rate
                            WHEN 'spy' THEN v_rate * (lp.setting('shows.prepay_minutes'))::integer
                            ELSE v_rate * v_show.min_minutes END;
    v_purpose := CASE v_show.show_type WHEN 'ticket' THEN 'ticket_show' WHEN 'private' THEN 'private_show'
                                       ELSE 'group_show' END;
    v_hold := api.place_hold(v_show.host_id, v_amount, 'show:' || v_key, v_purpose, NULL, v_show.stream_id);
    PERFORM lp.own_show_hold(v_hold);
    INSERT INTO lp.show_participants (show_id, user_id, role, rate, hold_id, billed_from)
    VALUES (v_show.id, v_viewer, v_role::lp.show_role, v_rate, v_hold.id,
            CASE WHEN v_show.status = 'running' THEN greatest(now(), v_show.started_at) END)
    RETURNING * INTO v_row;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.join_show(uuid, text) IS 'The acting viewer, watching the show''s stream, takes part: buys a ticket of an open ticket show (its price reserved), commits to an open group show (its minimum duration reserved) or joins a running one (billed from now), or spies on a running private show at its spy rate (shows.prepay_minutes reserved ahead). Reservations are holds for the host (api.place_hold''s rules and refusals). Idempotent per viewer and key. LP003 unknown show or stream, LP004 already in it, a ticket show that started, or a show not open or running, LP018 the host or a bad key, LP022 sanctioned, LP100 not enough tokens, LP104 stream not live, LP105 spending limit, LP106 key used for another show, LP107 in debt, LP108 host sanctioned, LP123 not watching, LP124 blocked, LP160 a new account over its tip caps, LP161 too many tips and holds this hour (the hold counts as a tip: lp.count_spend), LP128 a private show without spies.';
REVOKE ALL ON FUNCTION api.join_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.join_show(uuid, text) TO livepanty_app, livepanty_service;
