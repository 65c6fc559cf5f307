CREATE FUNCTION api.capture_hold(
    p_hold_id         uuid,
    p_amount          bigint,
    p_idempotency_key text
) RETURNS lp.hold_captures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hold    lp.holds := lp.authorize_hold_action(p_hold_id, 'capture');
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_capture lp.hold_captures;
    v_fee     bigint;
    v_tx      uuid := gen_random_uuid();
    v_payee   uuid;
BEGIN
    -- A retry with the same key returns the original capture (even once the hold is closed); the same key
    -- with another amount is refused.
    SELECT c.* INTO v_capture FROM lp.hold_captures AS c WHERE c.hold_id = p_hold_id AND c.idempotency_key = v_key;
    IF v_capture.id IS NOT NULL THEN
        IF v_capture.amount IS DISTINCT FROM p_amount THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different capture',
                DETAIL = format('capture %s', v_capture.id);
        END IF;
        PERFORM lp.note_replay('api.capture_hold', p_idempotency_key);
        RETURN v_capture;
    END IF;
    -- LP103 unless a positive number of tokens of at most money.max_tokens (lp.fee_for multiplies it by the fee).
    PERFORM lp.check_tokens(p_amount, 'capture amount');

    -- The hold row first, then (in lp.post) the wallets: see lp.lock_hold. Captures of one hold queue here.
    v_hold := lp.lock_hold(p_hold_id);
    SELECT c.* INTO v_capture FROM lp.hold_captures AS c WHERE c.hold_id = p_hold_id AND c.idempotency_key = v_key;
    IF v_capture.id IS NOT NULL THEN
        -- A concurrent call with the same key committed while we waited for the hold.
        IF v_capture.amount IS DISTINCT FROM p_amount THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different capture',
                DETAIL = format('capture %s', v_capture.id);
        END IF;
        PERFORM lp.note_replay('api.capture_hold', p_idempotency_key);
        RETURN v_capture;
    END IF;
    IF v_hold.status <> 'open' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP109', MESSAGE = format('the hold is %s', v_hold.status);
    END IF;
    IF p_amount > v_hold.amount - v_hold.captured THEN
        RAISE EXCEPTION USING ERRCODE = 'LP110', MESSAGE = 'capture exceeds what the hold still reserves',
            DETAIL = format('%s tokens left on the hold, %s asked', v_hold.amount - v_hold.captured, p_amount);
    END IF;
    -- The holder agreed to the spend when placing the hold (lp.payee_refusal, limits and sanctions were checked
    -- then), so only the payee's state matters now: a deleted account (LP003) or a suspended or banned
    -- performer (LP108) is not paid.
    SELECT u.id INTO v_payee FROM lp.users AS u WHERE u.id = v_hold.payee_id AND u.deleted_at IS NULL;
    IF v_payee IS NULL THEN
        PERFORM lp.refuse_payee('LP003');
    END IF;
    IF lp.sanctioned(v_hold.payee_id) THEN
        PERFORM lp.refuse_payee('LP108');
    END IF;
    IF lp.kyc_refusal(v_hold.payee_id) IS NOT NULL THEN
        PERFORM lp.refuse_payee('LP135');  -- the KYC gate: a performer whose verification lapsed is not paid
    END IF;

    v_fee := lp.fee_for(p_amount);
    INSERT INTO lp.hold_captures (hold_id, amount, fee_amount, transaction_id, idempotency_key)
    VALUES (p_hold_id, p_amount, v_fee, v_tx, v_key)
    RETURNING * INTO v_capture;
    UPDATE lp.holds AS h
       SET captured  = h.captured + p_amount,
           status    = CASE WHEN h.captured + p_amount = h.amount THEN 'captured'::lp.hold_status ELSE 'open' END,
           closed_at = CASE WHEN h.captured + p_amount = h.amount THEN now() END
     WHERE h.id = p_hold_id;

    -- Holder main -C releasing C reserved; payee +(C - F) on a credit shard; platform fees +F. A zero leg
    -- (no fee, or a 100% fee) is left out: lp.post refuses zero postings.
    PERFORM lp.post(v_tx, 'hold', p_hold_id,
        ARRAY[ROW(v_hold.wallet_id, -p_amount, 'hold_capture', p_amount, false)::lp.posting]
        || CASE WHEN p_amount - v_fee > 0 THEN
               ARRAY[ROW((SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_hold.payee_id),
                         p_amount - v_fee, 'hold_capture', 0, false)::lp.posting]
           ELSE ARRAY[]::lp.posting[] END
        || CASE WHEN v_fee > 0 THEN
               ARRAY[ROW(lp.system_wallet('platform_fees'), v_fee, 'hold_fee', 0, false)::lp.posting]
           ELSE ARRAY[]::lp.posting[] END);
    RETURN v_capture;
END
$$;
COMMENT ON FUNCTION api.capture_hold(uuid, bigint, text) IS 'The payee (or the back office with nobody acting, e.g. per-minute billing) takes p_amount of what an open hold still reserves: one ledger transaction, holder -amount (releasing as much reserved), payee +(amount - fee), platform fee wallet +fee (lp.fee_for, rounded down). Partial and repeated captures; the hold becomes captured when nothing is left. Idempotent per hold and key. LP001 nobody acting and not the service role, LP002 the holder, LP003 unknown or not visible hold (or payee deleted), LP018 key, LP103 amount not positive or above money.max_tokens, LP106 key reused with another amount, LP107 holder in debt, LP108 payee sanctioned, LP135 payee without a valid identity verification (lp.kyc_refusal), LP109 hold not open (captured, released or expired), LP110 more than remains.';
REVOKE ALL ON FUNCTION api.capture_hold(uuid, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.capture_hold(uuid, bigint, text) TO livepanty_app, livepanty_service;
