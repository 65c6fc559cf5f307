CREATE FUNCTION api.tip(
    p_recipient_id    uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_stream_id       uuid DEFAULT NULL,
    p_message         text DEFAULT NULL,
    p_is_anonymous    boolean DEFAULT false
) RETURNS lp.tips
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_sender    uuid := lp.require_user();
    v_message   text := lp.check_text(p_message, 'message', 500);
    v_key       text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_min       bigint := (lp.setting('tips.min_tokens'))::bigint;
    v_max       bigint := (lp.setting('tips.max_tokens'))::bigint;
    v_tip       lp.tips;
    v_recipient lp.users;
    v_stream    lp.streams;
    v_fee       bigint;
    v_tx        uuid := gen_random_uuid();
    v_from      uuid;
    v_to        uuid;
BEGIN
    -- A retry with the same key returns the original tip; the same key with other arguments is refused.
    SELECT t.* INTO v_tip FROM lp.tips AS t WHERE t.sender_id = v_sender AND t.idempotency_key = v_key;
    IF v_tip.id IS NOT NULL THEN
        RETURN lp.replay_tip(v_tip, p_recipient_id, p_amount, p_stream_id, v_message, p_is_anonymous);
    END IF;

    -- LP103 outside tips.min_tokens..tips.max_tokens, or above money.max_tokens (whichever is lower applies).
    PERFORM lp.check_tokens(p_amount, 'tip amount');
    IF p_amount < v_min OR p_amount > v_max THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'tip amount out of range',
            DETAIL = format('between %s and %s tokens', v_min, v_max);
    END IF;
    IF p_recipient_id = v_sender THEN
        RAISE EXCEPTION USING ERRCODE = 'LP101', MESSAGE = 'nobody can tip themselves';
    END IF;
    SELECT u.* INTO v_recipient FROM lp.users AS u WHERE u.id = p_recipient_id AND u.deleted_at IS NULL;
    IF v_recipient.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'recipient not found';
    END IF;
    IF v_recipient.role <> 'performer' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP102', MESSAGE = 'only performers receive tips';
    END IF;
    PERFORM lp.assert_not_sanctioned(v_sender);
    IF (lp.active_sanction(p_recipient_id)).id IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP108', MESSAGE = 'the recipient cannot receive tips now';
    END IF;
    IF p_stream_id IS NOT NULL THEN
        SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id AND s.deleted_at IS NULL;
        IF v_stream.id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
        END IF;
        IF v_stream.host_id <> p_recipient_id OR v_stream.status <> 'live' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not the recipient''s live stream',
                DETAIL = format('stream status %s', v_stream.status);
        END IF;
    END IF;

    v_fee := lp.fee_for(p_amount);
    INSERT INTO lp.tips (sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                         transaction_id, idempotency_key)
    VALUES (v_sender, p_recipient_id, p_stream_id, p_amount, v_fee, v_message, coalesce(p_is_anonymous, false),
            v_tx, v_key)
    ON CONFLICT (sender_id, idempotency_key) DO NOTHING
    RETURNING * INTO v_tip;
    IF v_tip.id IS NULL THEN
        -- A concurrent call with the same key committed first.
        SELECT t.* INTO v_tip FROM lp.tips AS t WHERE t.sender_id = v_sender AND t.idempotency_key = v_key;
        RETURN lp.replay_tip(v_tip, p_recipient_id, p_amount, p_stream_id, v_message, p_is_anonymous);
    END IF;
    -- After the claim, so that a concurrent retry of this very tip waits for it instead of being counted.
    PERFORM lp.check_spending_limit(v_sender, p_amount);

    SELECT (array_agg(w.id) FILTER (WHERE w.user_id = v_sender))[1],
           (array_agg(w.id) FILTER (WHERE w.user_id = p_recipient_id))[1]
      INTO v_from, v_to
      FROM lp.wallets AS w WHERE w.user_id IN (v_sender, p_recipient_id);
    -- Zero legs are left out (a fee of 0, or a fee of 100 % that leaves the performer nothing).
    PERFORM lp.post(v_tx, 'tip', v_tip.id,
        ARRAY(SELECT ROW(l.wallet_id, l.amount, l.kind, 0, false)::lp.posting
                FROM (VALUES (v_from, -p_amount, 'tip'),
                             (v_to, p_amount - v_fee, 'tip'),
                             (lp.system_wallet('platform_fees'), v_fee, 'tip_fee')) AS l (wallet_id, amount, kind)
               WHERE l.amount <> 0));
    RETURN v_tip;
END
$$;
COMMENT ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean) IS 'The acting user tips a performer: amount within tips.min_tokens..tips.max_tokens and at most money.max_tokens (LP103), optional live stream of the recipient, message (500 characters), anonymous flag. One ledger transaction: sender -amount, performer +(amount - fee), platform fee wallet +fee (fee rounded down). Idempotent per sender and key.';
REVOKE ALL ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean) TO livepanty_app, livepanty_service;
