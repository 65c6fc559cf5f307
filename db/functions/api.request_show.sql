CREATE FUNCTION api.request_show(p_stream_id uuid, p_idempotency_key text) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_viewer uuid := lp.require_user();
    v_key    text := lp.check_text(p_idempotency_key, 'idempotency_key', 123, true);
    v_old    lp.show_participants := lp.show_replay(v_viewer, v_key, NULL, p_stream_id);
    v_stream lp.streams;
    v_price  lp.show_prices;
    v_show   lp.shows;
    v_hold   lp.holds;
BEGIN
    IF v_old.id IS NOT NULL THEN
        SELECT s.* INTO v_show FROM lp.shows AS s WHERE s.id = v_old.show_id;
        PERFORM lp.note_replay('api.request_show', p_idempotency_key);
        RETURN v_show;
    END IF;
    PERFORM lp.assert_not_sanctioned(v_viewer);
    -- The stream FOR SHARE (as a join or a tip): its ending waits for this request and then cancels it. Only a
    -- public stream (lp.show_viewer_check refuses any other, LP003): another's row is neither locked nor waited
    -- for (a wait would tell that it exists).
    SELECT s.* INTO v_stream FROM lp.streams AS s
     WHERE s.id = p_stream_id AND s.deleted_at IS NULL AND s.visibility = 'public'
       FOR SHARE;
    PERFORM lp.show_viewer_check(v_stream, v_viewer);
    -- The viewer's viewing session (after the stream, as api.join_stream): a viewer's requests in a stream are
    -- decided one after the other, so a concurrent retry with the same key waits for the first and replays it,
    -- and a second request with another key sees the first (LP004) instead of both being placed.
    PERFORM 1 FROM lp.stream_viewers AS v
     WHERE v.stream_id = v_stream.id AND v.user_id = v_viewer AND v.left_at IS NULL
       FOR NO KEY UPDATE;
    v_old := lp.show_replay(v_viewer, v_key, NULL, p_stream_id);
    IF v_old.id IS NOT NULL THEN
        SELECT s.* INTO v_show FROM lp.shows AS s WHERE s.id = v_old.show_id;
        PERFORM lp.note_replay('api.request_show', p_idempotency_key);
        RETURN v_show;
    END IF;
    SELECT p.* INTO v_price FROM lp.show_prices AS p
     WHERE p.performer_id = v_stream.host_id AND p.show_type = 'private' AND p.is_enabled;
    IF v_price.performer_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP128', MESSAGE = 'the performer offers no private show';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.shows AS s
                WHERE s.stream_id = v_stream.id AND s.requested_by = v_viewer AND s.status = 'requested') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'you already asked for a show in this stream',
            HINT = 'Wait for the answer, or withdraw it (api.leave_show).';
    END IF;
    INSERT INTO lp.shows (stream_id, host_id, show_type, status, rate, spy_rate, min_minutes, requested_by, answer_by)
    VALUES (v_stream.id, v_stream.host_id, 'private', 'requested', v_price.rate, v_price.spy_rate, v_price.min_minutes,
            v_viewer, now() + make_interval(secs => (lp.setting('shows.answer_seconds'))::integer))
    RETURNING * INTO v_show;
    -- The minimum duration, reserved now (the payee rule, limits and balance: api.place_hold's refusals).
    v_hold := api.place_hold(v_stream.host_id, v_price.rate * v_price.min_minutes, 'show:' || v_key, 'private_show',
                             NULL, v_stream.id);
    PERFORM lp.own_show_hold(v_hold);
    INSERT INTO lp.show_participants (show_id, user_id, role, rate, hold_id)
    VALUES (v_show.id, v_viewer, 'payer', v_price.rate, v_hold.id);
    PERFORM lp.emit_event(v_stream.id, 'show_requested',
        jsonb_build_object('show_id', v_show.id, 'show_type', 'private', 'rate', v_show.rate,
                           'answer_by', v_show.answer_by));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.request_show(uuid, text) IS 'The acting viewer, watching a live public stream, asks its host for a private show at the host''s price (lp.show_prices): the minimum duration is reserved on a hold for the host now (api.place_hold''s rules and refusals), and the host has shows.answer_seconds to accept or decline (api.answer_show) before it expires. Idempotent per viewer and key. LP003 unknown stream, LP004 already asked in this stream, LP018 the host themselves or a bad key, LP022 sanctioned, LP100 not enough tokens, LP104 not live, LP105 spending limit, LP106 key used for another show, LP107 in debt, LP108 host sanctioned, LP123 not watching, LP124 blocked, LP160 a new account over its tip caps, LP161 too many tips and holds this hour (the hold counts as a tip: lp.count_spend), LP128 no private show offered.';
REVOKE ALL ON FUNCTION api.request_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_show(uuid, text) TO livepanty_app, livepanty_service;
