CREATE FUNCTION lp.place_hold(
    p_holder          uuid,
    p_payee_id        uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_purpose         text,
    p_expires_in      interval,
    p_stream_id       uuid,
    p_remote_payee    boolean,
    OUT r_hold_id     uuid,
    OUT r_replayed    boolean
)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- api.place_hold's rules for holder p_holder. p_remote_payee: the payee lives on another shard, whose
-- shard.payee_check the router ran (shard.place_hold_out), the stream p_stream_id included (it lives there);
-- here they are a stub (lp.remote_users). Otherwise a stub payee is refused (LP203): only the router may place
-- such a hold.
DECLARE
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_max     interval := make_interval(mins => (lp.setting('holds.max_minutes'))::integer);
    -- The lifetime in seconds: expires_at = created_at + v_life exactly, whatever the session's time zone.
    v_life    interval := make_interval(secs => extract(epoch FROM coalesce(p_expires_in, v_max)));
    v_hold    lp.holds;
    v_refusal text;
    v_remote  boolean;
    v_stream  lp.streams;
    v_wallet  lp.wallets;
BEGIN
    r_replayed := true;
    -- A retry with the same key returns the original hold; the same key with other arguments is refused.
    SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.user_id = p_holder AND h.idempotency_key = v_key;
    IF v_hold.id IS NOT NULL THEN
        r_hold_id := (lp.replay_hold(v_hold, p_payee_id, p_amount, p_purpose, v_life, p_stream_id)).id;
        RETURN;
    END IF;

    -- LP103 unless a positive number of tokens of at most money.max_tokens.
    PERFORM lp.check_tokens(p_amount, 'hold amount');
    PERFORM lp.check_choice(p_purpose, 'lp.hold_purpose', 'hold purpose');
    IF v_life <= interval '0' OR v_life > v_max THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'expires_in out of range',
            DETAIL = format('more than 0 and at most %s (holds.max_minutes)', v_max);
    END IF;
    PERFORM lp.assert_sanction_allows(p_holder, 'hold');  -- LP022 suspension or ban, LP150 tip_block
    -- Who may be paid: the rule of api.tip and api.tip_many (LP101 self, LP003 unknown, LP102 not a performer,
    -- LP108 sanctioned, LP135 no valid identity verification, LP124 blocked by the performer).
    SELECT lp.payee_refusal(p_holder, p_payee_id, u.id IS NOT NULL, u.role, lp.sanctioned(u.id),
                            EXISTS (SELECT 1 FROM lp.performer_blocks AS b
                                     WHERE b.performer_id = u.id AND b.blocked_id = p_holder),
                            lp.kyc_refusal_from(u.kyc_valid_until)),
           EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id)
      INTO v_refusal, v_remote
      FROM (SELECT 1) AS one
      LEFT JOIN lp.users AS u ON u.id = p_payee_id AND u.deleted_at IS NULL;
    IF p_remote_payee IS NOT FALSE THEN
        -- The payee's shard checked them and their stream; here they must be the stub of a user of another shard,
        -- and the stream none of this shard's.
        IF p_remote_payee IS NULL OR NOT v_remote OR p_payee_id = p_holder
           OR EXISTS (SELECT 1 FROM lp.streams AS s WHERE s.id = p_stream_id) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a payee of another shard',
                DETAIL = format('payee %s', p_payee_id);
        END IF;
    ELSIF v_remote THEN
        RAISE EXCEPTION USING ERRCODE = 'LP203', MESSAGE = 'the payee lives on another shard',
            HINT = 'Place the hold through the router, which checks the payee on their shard.';
    ELSIF v_refusal IS NOT NULL THEN
        PERFORM lp.refuse_payee(v_refusal);
    END IF;
    IF p_stream_id IS NOT NULL AND NOT p_remote_payee THEN  -- (p_remote_payee is not NULL from here on)
        -- A stream the holder may not see (lp.stream_visible) is not found, as one that does not exist (LP003,
        -- not LP104, nor a hold naming it).
        SELECT s.* INTO v_stream FROM lp.streams AS s
         WHERE s.id = p_stream_id AND s.deleted_at IS NULL AND lp.stream_visible(s.id, p_holder);
        IF v_stream.id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
        END IF;
        IF v_stream.host_id <> p_payee_id OR v_stream.status <> 'live' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not the payee''s live stream',
                DETAIL = format('stream status %s', v_stream.status);
        END IF;
    END IF;
    SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = p_holder;
    -- Fraud controls, as for a tip (the holder commits these tokens to the payee now; a capture counts nothing):
    -- LP160 a new account over its caps, LP161 too many tips and holds this hour (the one that reaches the
    -- threshold opens a case). One UPDATE of the holder's counter row, locked until commit, before the claim.
    PERFORM lp.count_spend(p_holder, 'hold', p_amount, v_key);

    -- Claim the key first: a concurrent call with the same key waits here for the first one, then replays it.
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, stream_id, purpose, amount, expires_at, idempotency_key)
    VALUES (p_holder, v_wallet.id, p_payee_id, p_stream_id, p_purpose::lp.hold_purpose, p_amount, now() + v_life, v_key)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING * INTO v_hold;
    IF v_hold.id IS NULL THEN
        -- A concurrent call with the same key committed first (this one waited for it at the counter): its
        -- replay, counted by no fraud control.
        PERFORM lp.uncount_spend(p_holder, 'hold', p_amount);
        SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.user_id = p_holder AND h.idempotency_key = v_key;
        r_hold_id := (lp.replay_hold(v_hold, p_payee_id, p_amount, p_purpose, v_life, p_stream_id)).id;
        RETURN;
    END IF;
    r_hold_id := v_hold.id;
    r_replayed := false;

    -- Spending limits: the new hold is already open and counts as reserved, hence "0 tokens more". This takes
    -- the spender's limit-row lock before any hold or wallet row lock (see lp.check_spending_limit).
    PERFORM lp.check_spending_limit(p_holder, 0);

    -- Reserve (no ledger entry: no token moves until a capture), as a debit would count the available balance:
    -- the holder's holds past their time expired first, earnings waiting in credit shards swept in when short.
    IF NOT lp.reserve(v_wallet.id, p_amount) THEN
        PERFORM lp.refuse_debit(v_wallet.id, p_amount);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.place_hold(uuid, uuid, bigint, text, text, interval, uuid, boolean) IS 'Owner only: the rules of api.place_hold for holder p_holder (see there); returns the hold''s id, and r_replayed when a retry was answered from its key. p_remote_payee (shard.place_hold_out): the payee is the stub of a user of another shard, checked there by shard.payee_check with the stream p_stream_id, which lives there and is not checked here (LP201 when the payee is no such stub, or the stream is one of this shard''s); without it, a stub payee is LP203.';
REVOKE ALL ON FUNCTION lp.place_hold(uuid, uuid, bigint, text, text, interval, uuid, boolean) FROM PUBLIC;
