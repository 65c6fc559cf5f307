CREATE FUNCTION api.mark_payout_paid(p_payout_id uuid, p_provider_reference text, p_idempotency_key text)
RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reference text := lp.check_text(p_provider_reference, 'provider_reference', 255, true);
    v_scope     text := 'payouts.mark_paid';
    v_done      jsonb;
    v_payout    lp.payouts;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key,
                                   jsonb_build_object('payout_id', p_payout_id, 'provider_reference', v_reference));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.mark_payout_paid', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    v_payout := lp.lock_payout(p_payout_id, ARRAY['approved', 'sending'], 'marked paid');  -- LP003, LP004
    -- A sending payout: api.send_payout took the decision, under the gates of that moment, and the money left;
    -- this records a fact, whatever was issued since (a hold now cannot call the transfer back).
    -- An approved payout (the one-step flow: recorded as the money leaves): the gates of api.request_payout
    -- hold at this moment too, whatever came after the request or the approval (LP022 suspension or ban,
    -- LP150 payout_hold, LP111 the KYC gate). Refused, the payout stays approved and nothing is recorded: paid
    -- once the hold is over, or rejected (tokens back).
    IF v_payout.status = 'approved' THEN
        PERFORM lp.assert_payout_allowed(v_payout.user_id,
            'The payout stays approved: pay it once the performer is verified again.');
    END IF;

    UPDATE lp.payouts AS p SET status = 'paid', provider_reference = v_reference, paid_at = now()
     WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    -- The money left the platform: the tokens leave circulation (back to the issuance wallet).
    PERFORM lp.post(gen_random_uuid(), 'payout', v_payout.id,
        ARRAY[ROW(lp.system_wallet('payout_clearing'), -v_payout.tokens, 'payout_paid', 0, false)::lp.posting,
              ROW(lp.system_wallet('issuance'), v_payout.tokens, 'payout_paid', 0, false)::lp.posting]);
    PERFORM lp.audit('payout.paid', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_payout.user_id, 'tokens', v_payout.tokens,
                                        'amount_minor', v_payout.amount_minor, 'currency', v_payout.currency,
                                        'provider_reference', v_reference));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.mark_payout_paid(uuid, text, text) IS 'Service role (payout processing): records that a sending (api.send_payout) or approved payout was paid, with the payment provider''s reference (required, 255 characters); its tokens leave circulation (payout clearing -> issuance). LP003 unknown, LP004 neither sending nor approved. A sending payout is recorded whatever was issued since it was sent (no gate: the decision was taken by api.send_payout). An approved one (paid in one step) passes the gates now: LP022 the performer is suspended or banned, LP150 a payout_hold is in force, LP111 no valid identity verification (lp.kyc_refusal): the payout stays approved, nothing is recorded (so a processor that records after the transfer claims the payout with api.send_payout first). Idempotent per key (scope payouts.mark_paid; LP106 for other arguments). Audited (payout.paid).';
REVOKE ALL ON FUNCTION api.mark_payout_paid(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.mark_payout_paid(uuid, text, text) TO livepanty_service;
