CREATE FUNCTION api.request_payout(
    p_tokens          bigint,
    p_method          text,
    p_idempotency_key text
) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user     uuid := lp.require_user();
    v_key      text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_min      bigint := (lp.setting('payouts.min_tokens'))::bigint;
    v_payout   lp.payouts;
    v_kyc      lp.kyc_verifications;
    v_wallet   lp.wallets;
    v_minor    bigint;
    v_payable  bigint;
    v_role     text;
BEGIN
    -- A retry with the same key returns the payout (as it is now, the reviewer shown only as
    -- reviewed_by_label: the caller is the performer, not staff); the same key with other arguments is refused.
    SELECT p.* INTO v_payout FROM lp.payouts AS p WHERE p.user_id = v_user AND p.idempotency_key = v_key;
    IF v_payout.id IS NOT NULL THEN
        IF (v_payout.tokens, v_payout.method::text) IS DISTINCT FROM (p_tokens, p_method) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different payout',
                DETAIL = format('payout %s', v_payout.id);
        END IF;
        v_payout.reviewed_by := NULL;
        PERFORM lp.note_replay('api.request_payout', p_idempotency_key);
        RETURN v_payout;
    END IF;

    IF (SELECT u.role FROM lp.users AS u WHERE u.id = v_user) <> 'performer' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP102', MESSAGE = 'only performers request payouts';
    END IF;
    PERFORM lp.check_choice(p_method, 'lp.payout_method', 'payout method');
    -- LP103 below payouts.min_tokens or above money.max_tokens.
    PERFORM lp.check_tokens(p_tokens, 'payout');
    IF p_tokens < greatest(v_min, 1) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'payout below the minimum',
            DETAIL = format('at least %s tokens', greatest(v_min, 1));
    END IF;
    -- The gates of being paid out: LP022 suspension or ban, LP150 payout_hold, LP111 the KYC gate
    -- (lp.kyc_refusal: never verified, or re-verification needed); then the approval it cites.
    PERFORM lp.assert_payout_allowed(v_user,
        'Submit a verification with api.submit_kyc and wait for its approval (or renew an expired one).');
    v_kyc := lp.approved_kyc(v_user);
    IF v_kyc.id IS NULL THEN  -- the cache and the verifications disagree (kyc.approval_valid_days just changed)
        RAISE EXCEPTION USING ERRCODE = 'LP111', MESSAGE = 'payouts need an approved identity verification',
            DETAIL = 'identity verification expired: re-verification needed';
    END IF;

    -- The account row, shared until commit (step 1 of the lock protocol, docs/ledger.md: a business row, before
    -- the wallet). An erasure (lp.erase) locks it (FOR NO KEY UPDATE) before it looks for money in flight: it
    -- waits for this request and then sees the payout (LP170), or this request waits for it and then finds the
    -- account gone (LP001), never a payout of an erased account. A deletion (api.delete_user) takes it too: it
    -- waits for this request and deletes the account with the payout requested (still owed: docs/api.md,
    -- "Payouts"), or this request finds the account gone (LP001). The role is read again under the lock (a
    -- demotion takes the row too).
    SELECT u.role::text INTO v_role FROM lp.users AS u WHERE u.id = v_user AND u.deleted_at IS NULL FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP001', MESSAGE = 'the acting user does not exist or was deleted',
            DETAIL = format('lp.user_id = %s', v_user);
    END IF;
    IF v_role <> 'performer' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP102', MESSAGE = 'only performers request payouts';
    END IF;

    -- Then the wallet's main row: every payout request of this performer queues here, so nothing changes
    -- what is payable until this transaction ends. The payable check must come before this payout's own row
    -- exists (a requested payout counts as taken by lp.payable_tokens), so the key is claimed only after it;
    -- a concurrent call with the same key waits for this lock, then finds that payout here and replays it.
    SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_user FOR NO KEY UPDATE;
    SELECT p.* INTO v_payout FROM lp.payouts AS p WHERE p.user_id = v_user AND p.idempotency_key = v_key;
    IF v_payout.id IS NOT NULL THEN
        IF (v_payout.tokens, v_payout.method::text) IS DISTINCT FROM (p_tokens, p_method) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different payout',
                DETAIL = format('payout %s', v_payout.id);
        END IF;
        v_payout.reviewed_by := NULL;
        PERFORM lp.note_replay('api.request_payout', p_idempotency_key);
        RETURN v_payout;
    END IF;

    -- Earnings wait in the credit shards: sweep them into the main balance, then check. Payable: earnings (tips
    -- and hold captures received) older than payouts.hold_days minus the tokens of this performer's requested,
    -- approved, sending and paid payouts, never more than the available balance; bought tokens are never
    -- payable.
    PERFORM lp.sweep_wallet(v_wallet.id);
    v_payable := lp.payable_tokens(v_wallet.id);
    IF p_tokens > v_payable THEN
        RAISE EXCEPTION USING ERRCODE = 'LP112', MESSAGE = 'payout larger than the payable earnings',
            DETAIL = format('%s tokens payable now', v_payable),
            HINT = 'Only earnings are paid out (never bought tokens), once they are payouts.hold_days days old.';
    END IF;

    -- Currency amount: tokens / tokens_per_unit currency units, in minor units (cents for a two-decimal
    -- currency), rounded down: the platform never pays more than the tokens are worth.
    v_minor := floor(p_tokens::numeric
                     * CASE WHEN v_wallet.currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG',
                                                       'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 1
                            WHEN v_wallet.currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 1000
                            ELSE 100 END
                     / v_wallet.tokens_per_unit)::bigint;

    -- Claim the key (no other call of this performer can hold it now: they all wait for the wallet lock above).
    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, currency, method,
                            idempotency_key)
    VALUES (v_user, v_kyc.id, p_tokens, v_wallet.tokens_per_unit, v_minor, v_wallet.currency, p_method::lp.payout_method, v_key)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING * INTO v_payout;
    IF v_payout.id IS NULL THEN
        SELECT p.* INTO v_payout FROM lp.payouts AS p WHERE p.user_id = v_user AND p.idempotency_key = v_key;
        IF (v_payout.tokens, v_payout.method::text) IS DISTINCT FROM (p_tokens, p_method) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different payout',
                DETAIL = format('payout %s', v_payout.id);
        END IF;
        v_payout.reviewed_by := NULL;
        PERFORM lp.note_replay('api.request_payout', p_idempotency_key);
        RETURN v_payout;
    END IF;

    PERFORM lp.post(gen_random_uuid(), 'payout', v_payout.id,
        ARRAY[ROW(v_wallet.id, -p_tokens, 'payout', 0, false)::lp.posting,
              ROW(lp.system_wallet('payout_clearing'), p_tokens, 'payout', 0, false)::lp.posting]);
    PERFORM lp.audit('payout.request', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_user, 'tokens', p_tokens, 'amount_minor', v_minor,
                                        'currency', v_wallet.currency, 'method', p_method,
                                        'kyc_verification_id', v_kyc.id));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.request_payout(bigint, text, text) IS 'The acting performer cashes out p_tokens by p_method (bank_transfer, paypal, paxum, wire, check). Needs a valid identity verification (LP111: lp.kyc_refusal, the KYC gate: never verified, or re-verification needed), no active suspension or ban (LP022) or payout_hold (LP150), payouts.min_tokens <= p_tokens <= money.max_tokens (LP103) and <= the payable tokens (LP112; lp.payable_tokens: earnings, i.e. tip and hold capture credits, older than payouts.hold_days minus the tokens of the performer''s requested, approved, sending and paid payouts, at most the available balance; bought tokens are never payable). The tokens move to the payout clearing wallet; amount_minor = floor(tokens * 10^(currency decimals) / tokens_per_unit) (rounded down). LP102 not a performer, LP018 bad method. Idempotent per performer and key (LP106 for other arguments; a replay returns the payout as it is now, with reviewed_by NULL: the reviewer is named by reviewed_by_label). Audited (payout.request).';
REVOKE ALL ON FUNCTION api.request_payout(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_payout(bigint, text, text) TO livepanty_app, livepanty_service;
