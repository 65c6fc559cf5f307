CREATE FUNCTION api.place_hold(
    p_payee_id        uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_purpose         text DEFAULT 'private_show',
    p_expires_in      interval DEFAULT NULL,
    p_stream_id       uuid DEFAULT NULL
) RETURNS lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_pair record;
BEGIN
    SELECT * INTO v_pair FROM lp.place_hold(lp.require_user(), p_payee_id, p_amount, p_idempotency_key, p_purpose,
                                            p_expires_in, p_stream_id, false);
    IF v_pair.r_replayed THEN
        PERFORM lp.note_replay('api.place_hold', p_idempotency_key);
    END IF;
    RETURN (SELECT h FROM lp.holds AS h WHERE h.id = v_pair.r_hold_id);
END
$$;
COMMENT ON FUNCTION api.place_hold(uuid, bigint, text, text, interval, uuid) IS 'The acting user reserves p_amount tokens of their available balance for a performer (purpose private_show, group_show, tip or other; optionally for the payee''s live stream) until now() + p_expires_in (default and maximum holds.max_minutes). No ledger entry: reserved grows on the holder''s main balance. Expired holds of the holder are released first; spending limits count the hold, and so do the fraud controls, as a tip (lp.count_spend: one call and its tokens; a capture counts nothing). Idempotent per holder and key (a replay with p_expires_in NULL compares against holds.max_minutes as it is now). LP001 nobody acting, LP003 payee or stream unknown (or a stream the holder may not see: lp.stream_visible), LP018 bad purpose, lifetime or key, LP022 holder suspended or banned, LP100 not enough available, LP101 self, LP102 payee not a performer, LP103 amount not positive or above money.max_tokens, LP104 stream not the payee''s live one, LP105 spending limit, LP106 key reused with other arguments, LP107 wallet in debt, LP108 payee sanctioned, LP124 the payee has blocked the holder, LP203 (sharded installation) the payee lives on another shard (the router places such holds), LP135 the payee holds no valid identity verification (lp.kyc_refusal), LP150 the holder is under a tip_block, LP160 the holder is a new account and the amount is over fraud.new_account_max_tip or, with the tips and holds of the UTC day, over fraud.new_account_daily_tip_tokens, LP161 the holder made fraud.tips_per_hour tips and holds this UTC clock hour already.';
REVOKE ALL ON FUNCTION api.place_hold(uuid, bigint, text, text, interval, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.place_hold(uuid, bigint, text, text, interval, uuid) TO livepanty_app, livepanty_service;
