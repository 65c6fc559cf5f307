CREATE FUNCTION lp.capture_hold(
    p_hold_id         uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_remote_payee    boolean,
    OUT r_capture_id  uuid,
    OUT r_replayed    boolean
)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- api.capture_hold's rules. A payee who lives on another shard is a stub here (lp.remote_users): their shard
-- checked them (shard.payee_state_check, run by the router before shard.capture_out, p_remote_payee), and their
-- part leaves through the outbox of cross-shard tips (lp.transfers_out with the hold): the in-transit wallet of
-- their shard takes it, and the relay credits them there exactly once. Without p_remote_payee such a hold is
-- LP203 (only the router captures it); with it, a local payee is LP201.
DECLARE
    v_hold    lp.holds := lp.authorize_hold_action(p_hold_id, 'capture');
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_capture lp.hold_captures;
    v_fee     bigint;
    v_tx      uuid := gen_random_uuid();
    v_payee   uuid;
    v_home    smallint;
BEGIN
    r_replayed := true;
    -- A retry with the same key returns the original capture (even once the hold is closed); the same key
    -- with another amount is refused.
    SELECT c.* INTO v_capture FROM lp.hold_captures AS c WHERE c.hold_id = p_hold_id AND c.idempotency_key = v_key;
    IF v_capture.id IS NOT NULL THEN
        IF v_capture.amount IS DISTINCT FROM p_amount THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different capture',
                DETAIL = format('capture %s', v_capture.id);
        END IF;
        r_capture_id := v_capture.id;
        RETURN;
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
        r_capture_id := v_capture.id;
        RETURN;
    END IF;
    r_replayed := false;
    IF v_hold.status <> 'open' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP109', MESSAGE = format('the hold is %s', v_hold.status);
    END IF;
    IF p_amount > v_hold.amount - v_hold.captured THEN
        RAISE EXCEPTION USING ERRCODE = 'LP110', MESSAGE = 'capture exceeds what the hold still reserves',
            DETAIL = format('%s tokens left on the hold, %s asked', v_hold.amount - v_hold.captured, p_amount);
    END IF;
    SELECT r.home_shard INTO v_home FROM lp.remote_users AS r WHERE r.user_id = v_hold.payee_id;
    IF v_home IS NULL AND p_remote_payee THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a payee of another shard',
            DETAIL = format('hold %s', p_hold_id);
    ELSIF v_home IS NOT NULL AND NOT p_remote_payee THEN
        RAISE EXCEPTION USING ERRCODE = 'LP203', MESSAGE = 'the payee of this hold lives on another shard',
            HINT = 'Capture it through the router, which checks the payee on their shard.';
    ELSIF v_home IS NULL THEN
        -- The holder agreed to the spend when placing the hold (lp.payee_refusal, limits and sanctions were
        -- checked then), so only the payee's state matters now: a deleted account (LP003) or a suspended or
        -- banned performer (LP108) is not paid.
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
    END IF;

    v_fee := lp.fee_for(p_amount);
    INSERT INTO lp.hold_captures (hold_id, amount, fee_amount, transaction_id, idempotency_key)
    VALUES (p_hold_id, p_amount, v_fee, v_tx, v_key)
    RETURNING * INTO v_capture;
    r_capture_id := v_capture.id;
    UPDATE lp.holds AS h
       SET captured  = h.captured + p_amount,
           status    = CASE WHEN h.captured + p_amount = h.amount THEN 'captured'::lp.hold_status ELSE 'open' END,
           closed_at = CASE WHEN h.captured + p_amount = h.amount THEN now() END
     WHERE h.id = p_hold_id;
    IF v_home IS NOT NULL THEN
        -- The payee's part in transit to their shard (docs/scale-out.md, "Cross-shard captures").
        INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount, idempotency_key,
                                      transaction_id, status, delivered_at, hold_id)
        VALUES (lp.uuid_v7(), v_hold.user_id, v_hold.payee_id, v_home, p_amount, v_fee, v_key, v_tx,
                CASE WHEN v_fee = p_amount THEN 'delivered' ELSE 'pending' END,
                CASE WHEN v_fee = p_amount THEN now() END, p_hold_id);
    END IF;

    -- Holder main -C releasing C reserved; payee (or the in-transit wallet of their shard) +(C - F) on a credit
    -- shard; platform fees +F. A zero leg (no fee, or a 100% fee) is left out: lp.post refuses zero postings.
    PERFORM lp.post(v_tx, 'hold', p_hold_id,
        ARRAY[ROW(v_hold.wallet_id, -p_amount, 'hold_capture', p_amount, false)::lp.posting]
        || CASE WHEN p_amount - v_fee > 0 THEN
               ARRAY[ROW(CASE WHEN v_home IS NULL
                              THEN (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_hold.payee_id)
                              ELSE lp.system_wallet('transit_' || v_home) END,
                         p_amount - v_fee, 'hold_capture', 0, false)::lp.posting]
           ELSE ARRAY[]::lp.posting[] END
        || CASE WHEN v_fee > 0 THEN
               ARRAY[ROW(lp.system_wallet('platform_fees'), v_fee, 'hold_fee', 0, false)::lp.posting]
           ELSE ARRAY[]::lp.posting[] END);
END
$$;
COMMENT ON FUNCTION lp.capture_hold(uuid, bigint, text, boolean) IS 'Owner only: the rules of api.capture_hold (see there); returns the capture''s id, and r_replayed when a retry was answered from its key. A hold whose payee is the stub of a user of another shard is captured only with p_remote_payee (shard.capture_out, after the router''s shard.payee_state_check on the payee''s shard; LP203 without): the payee''s part goes to the in-transit wallet of their shard with an outbox row (lp.transfers_out, hold_id), which the relay credits there once. p_remote_payee with a local payee is LP201.';
REVOKE ALL ON FUNCTION lp.capture_hold(uuid, bigint, text, boolean) FROM PUBLIC;
