CREATE FUNCTION lp.claw_back(
    p_payment_id uuid,
    p_kind       text,
    p_reason     text
) RETURNS lp.payments
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_policy    text;
    v_payment   lp.payments;
    v_wallet    lp.wallets;
    v_recovered bigint;
    v_shortfall bigint;
    v_net       bigint;
    v_debt      bigint := 0::bigint;
    v_postings  lp.posting[];
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('refund', 'chargeback') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('unknown clawback kind %L', p_kind);
    END IF;
    -- The payment row first (the business row of the lock protocol): LP003 unknown, LP004 unless completed.
    v_payment := lp.lock_payment(p_payment_id, ARRAY['completed'],
                                 CASE p_kind WHEN 'refund' THEN 'refunded' ELSE 'charged back' END);
    v_policy := lp.setting('refunds.shortfall_policy') #>> '{}';
    IF v_policy IS NULL OR v_policy NOT IN ('debt', 'write_off') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'refunds.shortfall_policy must be "debt" or "write_off"';
    END IF;

    -- The buyer's main balance (phase 1 of the lock protocol: the only user wallet of this transaction), then
    -- its idle credit shards swept into it, so that tokens waiting in shards (a performer who bought tokens,
    -- or earned some) count as available. The system wallets' shards come last, in lp.post.
    -- A shard busy with a credit in flight (a tip to a performer who bought tokens) holds tokens the buyer has:
    -- under write_off, still short after the idle ones, the sweep waits for the busy ones too (shards after the
    -- main row), so that no token the buyer holds is written off as lost. (Under debt the buyer is debited the
    -- whole purchase anyway, and the next credit to a wallet in debt sweeps every shard to settle it.)
    SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_payment.user_id FOR NO KEY UPDATE;
    IF v_wallet.shard_count > 0 AND lp.sweep_wallet(v_wallet.id) <> 0 THEN
        SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.id = v_wallet.id;
    END IF;
    IF v_policy = 'write_off' AND v_wallet.shard_count > 0 AND v_wallet.balance < v_payment.tokens
       AND lp.sweep_wallet(v_wallet.id, true) <> 0 THEN
        SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.id = v_wallet.id;
    END IF;

    -- What the buyer can give back: every token still in the wallet, reserved ones included (tokens held for
    -- an open hold are not spent yet: leaving them would let the holder release them, or an accomplice
    -- capture them, after the chargeback), at most the purchase. The rest was spent: the shortfall the policy
    -- decides about. Taking reserved tokens leaves the balance below reserved, which marks the wallet in debt
    -- (captures and every other debit are refused until it is settled). Likewise the buyer's tips waiting in
    -- goal escrow (refund_if_missed) are not spent yet: a missed goal gives them back to the buyer, so they
    -- count as recovered, and the debt they leave is settled by that refund (were they written off, the buyer
    -- would have the purchase's money back and the tokens too). Paid out when the goal is reached, they are
    -- spent, and the debt stays, as for any debt. (Tips of this shard's escrow only: a cross-shard tip's escrow
    -- is on its performer's shard.)
    -- The escrow is counted with the balance (the buyer's net position), so that it is recovered once: after a
    -- first clawback counted it, the balance is below zero by as much, and a second one finds nothing there.
    v_net := v_wallet.balance
             + coalesce((SELECT sum(t.amount) FROM lp.tips AS t
                          WHERE t.sender_id = v_payment.user_id AND t.status = 'escrowed'), 0)::bigint;
    v_recovered := least(v_payment.tokens, greatest(v_net, 0));
    v_shortfall := v_payment.tokens - v_recovered;
    -- What the reversal adds to the buyer's debt (policy debt): the shortfall, less what of it only brings back
    -- debt that an earlier refund or chargeback of the buyer records already. A purchase that settled such a
    -- debt and is then reversed leaves the wallet owing that debt again: those tokens are the earlier payment's
    -- debt_tokens, and counted on this payment too they were owed twice on paper (the wallet's own figure is
    -- right either way: the buyer is debited the whole purchase). So the debt_tokens of a buyer's reversed
    -- payments add up to what the wallet owes after each reversal (less debt since settled by purchases that
    -- stand), never more than the shortfall (tips in goal escrow counted as recovered and then paid out owe
    -- more than the payments record, as before). The buyer's earlier reversals are committed: the spend
    -- counter and the wallet, locked first, serialise them.
    IF v_policy = 'debt' THEN
        v_debt := least(v_shortfall,
                        greatest(greatest(v_payment.tokens - v_net, 0)
                                 - coalesce((SELECT sum(p.debt_tokens) FROM lp.payments AS p
                                              WHERE p.user_id = v_payment.user_id AND p.id <> v_payment.id
                                                AND p.status IN ('refunded', 'chargeback')), 0)::bigint,
                                 0));
    END IF;

    -- The purchased tokens leave circulation: issuance gets all of them back.
    v_postings := ARRAY[ROW(lp.system_wallet('issuance'), v_payment.tokens, p_kind, 0, false)::lp.posting];
    IF v_policy = 'debt' THEN
        -- The buyer is debited everything; the main balance may go below its reserved tokens (debt_since is
        -- set: no debit passes until a purchase or adjustment brings it back).
        v_postings := v_postings || ROW(v_wallet.id, -v_payment.tokens, p_kind, 0, true)::lp.posting;
    ELSE
        IF v_recovered > 0 THEN
            v_postings := v_postings || ROW(v_wallet.id, -v_recovered, p_kind, 0, true)::lp.posting;
        END IF;
        IF v_shortfall > 0 THEN
            v_postings := v_postings
                || ROW(lp.system_wallet('chargeback_losses'), -v_shortfall, 'write_off', 0, false)::lp.posting;
        END IF;
    END IF;
    PERFORM lp.post(gen_random_uuid(), 'payment', v_payment.id, v_postings,
                    format('%s of payment %s (shortfall policy %s)', p_kind, v_payment.id, v_policy));

    UPDATE lp.payments AS p
       SET status             = CASE p_kind WHEN 'refund' THEN 'refunded'::lp.payment_status ELSE 'chargeback' END,
           refunded_at        = CASE p_kind WHEN 'refund' THEN now() ELSE p.refunded_at END,
           charged_back_at    = CASE p_kind WHEN 'chargeback' THEN now() ELSE p.charged_back_at END,
           recovered_tokens   = v_recovered,
           written_off_tokens = CASE v_policy WHEN 'write_off' THEN v_shortfall ELSE 0 END,
           debt_tokens        = CASE v_policy WHEN 'debt' THEN v_debt ELSE 0 END,
           reversal_reason    = p_reason
     WHERE p.id = v_payment.id
    RETURNING * INTO v_payment;
    -- A reversed payment no longer makes the account verified for the fraud controls (lp.count_spend's
    -- new-account caps): the earliest payment still completed does, if any. The caller took the counter row
    -- first (lp.lock_spend_counter: the lock order of docs/ledger.md).
    UPDATE lp.spend_counters AS f
       SET first_payment_at = (SELECT min(p.completed_at) FROM lp.payments AS p
                                WHERE p.user_id = f.user_id AND p.status = 'completed')
     WHERE f.user_id = v_payment.user_id;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION lp.claw_back(uuid, text, text) IS 'Refund or chargeback of a completed payment: locks it (lp.lock_payment: LP003 unknown, LP004 not completed), then takes the purchased tokens back from the buyer in one ledger transaction, issuance credited with all of them. The buyer''s balance (after sweeping its shards; reserved tokens included, which may leave the wallet in debt) covers what it can; the rest follows refunds.shortfall_policy: debt (the buyer is debited everything and may go into debt) or write_off (booked to chargeback_losses). Records recovered/written-off/debt tokens (debt: the shortfall less the debt that earlier reversals of the buyer record and this one only brings back, so a buyer''s debt_tokens add up to what the wallet owes), status and reason on the payment, and the buyer''s first_payment_at (lp.spend_counters) from the payments still completed: the caller locks that counter row first (lp.lock_spend_counter).';
REVOKE ALL ON FUNCTION lp.claw_back(uuid, text, text) FROM PUBLIC;
