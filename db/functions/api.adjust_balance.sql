CREATE FUNCTION api.adjust_balance(
    p_user_id         uuid,
    p_amount          bigint,
    p_reason          text,
    p_idempotency_key text
) RETURNS lp.adjustments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor      uuid := lp.require_user('admin');
    v_reason     text := lp.check_text(p_reason, 'reason', 1000, true);
    v_key        text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_adjustment lp.adjustments;
    v_wallet     uuid;
    v_tx         uuid := gen_random_uuid();
BEGIN
    -- A retry with the same key returns the original adjustment; the same key with other arguments is refused.
    SELECT a.* INTO v_adjustment FROM lp.adjustments AS a WHERE a.idempotency_key = v_key;
    IF v_adjustment.id IS NOT NULL THEN
        PERFORM lp.note_replay('api.adjust_balance', p_idempotency_key);
        RETURN lp.replay_adjustment(v_adjustment, p_user_id, p_amount, v_reason);
    END IF;

    -- LP103 unless a non-zero number of tokens of at most money.max_tokens either way.
    PERFORM lp.check_tokens(p_amount, 'adjustment', true);
    IF p_user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may adjust their own balance',
            HINT = 'Another admin has to make this correction.';
    END IF;
    SELECT w.id INTO v_wallet
      FROM lp.users AS u JOIN lp.wallets AS w ON w.user_id = u.id
     WHERE u.id = p_user_id AND u.deleted_at IS NULL;
    IF v_wallet IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;

    INSERT INTO lp.adjustments (user_id, amount, reason, created_by, transaction_id, idempotency_key)
    VALUES (p_user_id, p_amount, v_reason, v_actor, v_tx, v_key)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING * INTO v_adjustment;
    IF v_adjustment.id IS NULL THEN
        -- A concurrent call with the same key committed first.
        SELECT a.* INTO v_adjustment FROM lp.adjustments AS a WHERE a.idempotency_key = v_key;
        PERFORM lp.note_replay('api.adjust_balance', p_idempotency_key);
        RETURN lp.replay_adjustment(v_adjustment, p_user_id, p_amount, v_reason);
    END IF;

    -- A debit may not overdraw the available balance (LP100; LP107 while the wallet is in debt); a credit to a
    -- wallet in debt settles it (lp.post credits its main balance and sweeps its shards).
    PERFORM lp.post(v_tx, 'adjustment', v_adjustment.id,
        ARRAY[ROW(v_wallet, p_amount, 'adjustment', 0, false)::lp.posting,
              ROW(lp.system_wallet('adjustments'), -p_amount, 'adjustment', 0, false)::lp.posting],
        left(v_reason, 500));
    PERFORM lp.audit('ledger.adjustment', 'user', p_user_id::text,
        jsonb_build_object('adjustment_id', v_adjustment.id, 'amount', p_amount, 'reason', v_reason,
                           'transaction_id', v_tx),
        NULL, v_actor);
    RETURN v_adjustment;
END
$$;
COMMENT ON FUNCTION api.adjust_balance(uuid, bigint, text, text) IS 'Admins: a correcting transfer between a user''s wallet and the adjustments system wallet (positive credits the user, negative debits them), with a mandatory reason (1000 characters); audited as ledger.adjustment. Nothing edits an existing entry. Idempotent per key (LP106 other arguments). LP103 zero amount or more than money.max_tokens either way, LP018 missing reason or key, LP002 own wallet, LP003 unknown user, LP100 a debit larger than the available balance, LP107 a debit of a wallet in debt.';
REVOKE ALL ON FUNCTION api.adjust_balance(uuid, bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.adjust_balance(uuid, bigint, text, text) TO livepanty_app, livepanty_service;
