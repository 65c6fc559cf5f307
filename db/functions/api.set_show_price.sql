CREATE FUNCTION api.set_show_price(
    p_show_type        text,
    p_rate             bigint,
    p_min_minutes      integer DEFAULT 1,
    p_spy_rate         bigint DEFAULT NULL,
    p_min_participants integer DEFAULT NULL,
    p_is_enabled       boolean DEFAULT true
) RETURNS lp.show_prices
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_performer uuid := lp.require_user('performer');
    v_min       bigint := (lp.setting('shows.min_rate'))::bigint;
    v_max       bigint := (lp.setting('shows.max_rate'))::bigint;
    v_price     lp.show_prices;
BEGIN
    PERFORM lp.check_choice(p_show_type, 'lp.show_type', 'show type');
    PERFORM lp.check_tokens(p_rate, 'rate');
    IF p_rate NOT BETWEEN v_min AND v_max OR (p_spy_rate IS NOT NULL AND p_spy_rate NOT BETWEEN v_min AND v_max) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'show price out of range',
            DETAIL = format('between %s and %s tokens (shows.min_rate, shows.max_rate)', v_min, v_max);
    END IF;
    IF p_min_minutes IS NULL OR p_min_minutes NOT BETWEEN 1 AND 600 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the minimum duration is 1 to 600 minutes';
    END IF;
    IF p_spy_rate IS NOT NULL AND p_show_type <> 'private' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'only private shows have a spy rate';
    END IF;
    IF (p_show_type = 'group') <> (p_min_participants IS NOT NULL)
       OR (p_min_participants IS NOT NULL AND p_min_participants NOT BETWEEN 2 AND 1000) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a group show, and only a group show, has a minimum of 2 to 1000 participants';
    END IF;
    IF p_is_enabled IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_is_enabled is true or false';
    END IF;
    INSERT INTO lp.show_prices AS p (performer_id, show_type, rate, spy_rate, min_minutes, min_participants, is_enabled)
    VALUES (v_performer, p_show_type::lp.show_type, p_rate, p_spy_rate, p_min_minutes, p_min_participants, p_is_enabled)
    ON CONFLICT (performer_id, show_type) DO UPDATE
       SET rate = EXCLUDED.rate, spy_rate = EXCLUDED.spy_rate, min_minutes = EXCLUDED.min_minutes,
           min_participants = EXCLUDED.min_participants, is_enabled = EXCLUDED.is_enabled, updated_at = now()
    RETURNING p.* INTO v_price;
    PERFORM lp.audit('show.price', 'user', v_performer::text,
                     jsonb_build_object('type', p_show_type, 'rate', p_rate, 'spy_rate', p_spy_rate,
                                        'min_minutes', p_min_minutes, 'min_participants', p_min_participants,
                                        'enabled', p_is_enabled));
    RETURN v_price;
END
$$;
COMMENT ON FUNCTION api.set_show_price(text, bigint, integer, bigint, integer, boolean) IS 'The acting performer sets their price for a show type (private, group, ticket): tokens per minute (private, group) or the ticket price, within shows.min_rate..shows.max_rate (LP103); the minimum duration billed (1..600 minutes); a private show''s spy rate per minute; a group show''s minimum participants (2..1000); whether they offer it. Shows already asked for keep the price they were asked at. LP002 not a performer, LP018 bad type, duration, spy rate or participants. Audited (show.price).';
REVOKE ALL ON FUNCTION api.set_show_price(text, bigint, integer, bigint, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_show_price(text, bigint, integer, bigint, integer, boolean) TO livepanty_app, livepanty_service;
