CREATE FUNCTION api.approve_payout(p_payout_id uuid, p_idempotency_key text) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin');
    v_scope  text := 'payouts.approve';
    v_done   jsonb;
    v_payout lp.payouts;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key, jsonb_build_object('payout_id', p_payout_id));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.approve_payout', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    v_payout := lp.lock_payout(p_payout_id, ARRAY['requested'], 'approved',
                               p_reviewer => v_actor);  -- LP003, LP002, LP004
    -- Not paid out while a sanction forbids it (LP022 suspension or ban, LP150 payout_hold) or the KYC gate is
    -- closed (LP111: the verification lapsed since the request): it stays requested.
    PERFORM lp.assert_payout_allowed(v_payout.user_id,
        'The payout stays requested: approve it once the performer is verified again.');

    UPDATE lp.payouts AS p SET status = 'approved', reviewed_by = v_actor, reviewed_at = now()
     WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    PERFORM lp.audit('payout.approve', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_payout.user_id, 'tokens', v_payout.tokens,
                                        'amount_minor', v_payout.amount_minor, 'currency', v_payout.currency));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.approve_payout(uuid, text) IS 'Admins: approves a requested payout for payment (no tokens move; they stay in payout clearing). LP003 unknown, LP002 own payout, LP004 not requested, LP022 the performer is suspended or banned, LP150 a payout_hold is in force, LP111 no valid identity verification (lp.kyc_refusal) (the payout stays requested). The deletion of the performer''s account or the loss of the performer role since the request is no gate: the payout is approved as any other (the tokens are owed). Idempotent per key (scope payouts.approve; LP106 for another payout). Audited (payout.approve).';
REVOKE ALL ON FUNCTION api.approve_payout(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.approve_payout(uuid, text) TO livepanty_app, livepanty_service;
