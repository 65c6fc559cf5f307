CREATE FUNCTION api.capture_hold(
    p_hold_id         uuid,
    p_amount          bigint,
    p_idempotency_key text
) RETURNS lp.hold_captures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_pair record;
BEGIN
    SELECT * INTO v_pair FROM lp.capture_hold(p_hold_id, p_amount, p_idempotency_key, false);
    IF v_pair.r_replayed THEN
        PERFORM lp.note_replay('api.capture_hold', p_idempotency_key);
    END IF;
    RETURN (SELECT c FROM lp.hold_captures AS c WHERE c.id = v_pair.r_capture_id);
END
$$;
COMMENT ON FUNCTION api.capture_hold(uuid, bigint, text) IS 'The payee (or the back office with nobody acting, e.g. per-minute billing) takes p_amount of what an open hold still reserves: one ledger transaction, holder -amount (releasing as much reserved), payee +(amount - fee), platform fee wallet +fee (lp.fee_for, rounded down). Partial and repeated captures; the hold becomes captured when nothing is left. Idempotent per hold and key. LP001 nobody acting and not the service role, LP002 the holder, LP003 unknown or not visible hold (or payee deleted), LP004 a show''s hold not yet settled (the billing job''s alone, lp.authorize_hold_action), LP018 key, LP103 amount not positive or above money.max_tokens, LP106 key reused with another amount, LP107 holder in debt, LP108 payee sanctioned, LP135 payee without a valid identity verification (lp.kyc_refusal), LP109 hold not open (captured, released or expired), LP110 more than remains, LP203 (sharded installation) the payee lives on another shard (the router captures such holds).';
REVOKE ALL ON FUNCTION api.capture_hold(uuid, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.capture_hold(uuid, bigint, text) TO livepanty_app, livepanty_service;
