CREATE FUNCTION api.offer_show(p_stream_id uuid, p_show_type text) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host   uuid := lp.require_user('performer');
    v_stream lp.streams;
    v_price  lp.show_prices;
    v_show   lp.shows;
BEGIN
    PERFORM lp.check_choice(p_show_type, 'lp.show_type', 'show type');
    IF p_show_type = 'private' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a private show is asked for by a viewer (api.request_show)';
    END IF;
    v_stream := lp.lock_stream(p_stream_id, ARRAY['live'], 'offer a show', v_host);
    PERFORM lp.assert_not_sanctioned(v_host);
    SELECT p.* INTO v_price FROM lp.show_prices AS p
     WHERE p.performer_id = v_host AND p.show_type = p_show_type::lp.show_type AND p.is_enabled;
    IF v_price.performer_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP128', MESSAGE = format('you offer no %s show: set its price first', p_show_type),
            HINT = 'api.set_show_price';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.shows AS s WHERE s.stream_id = v_stream.id AND s.status = 'open') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the stream already has a show taking viewers';
    END IF;
    INSERT INTO lp.shows (stream_id, host_id, show_type, status, rate, min_minutes, min_participants)
    VALUES (v_stream.id, v_host, p_show_type::lp.show_type, 'open', v_price.rate, v_price.min_minutes,
            v_price.min_participants)
    RETURNING * INTO v_show;
    PERFORM lp.emit_event(v_stream.id, 'show_opened',
        jsonb_build_object('show_id', v_show.id, 'show_type', v_show.show_type, 'rate', v_show.rate,
                           'min_minutes', v_show.min_minutes, 'min_participants', v_show.min_participants));
    PERFORM lp.audit('show.open', 'show', v_show.id::text, jsonb_build_object('type', p_show_type, 'rate', v_show.rate));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.offer_show(uuid, text) IS 'The host opens a group or ticket show in their live stream at their price (lp.show_prices): viewers commit to it (group: the minimum duration reserved) or buy a ticket (its price reserved) with api.join_show until the host starts it (api.start_show) or cancels it (api.end_show: every reservation released). One open show per stream. LP002 not the host, LP003 unknown stream, LP004 not live or a show already open, LP018 bad type (private shows are asked for by viewers), LP022 sanctioned, LP128 no price set for that type. Audited (show.open).';
REVOKE ALL ON FUNCTION api.offer_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.offer_show(uuid, text) TO livepanty_app, livepanty_service;
