CREATE FUNCTION lp.assert_payout_allowed(p_user_id uuid, p_hint text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_refusal text;
BEGIN
    -- The sanctions first (LP022 suspension or ban, LP150 payout_hold), then the KYC gate (LP111).
    PERFORM lp.assert_sanction_allows(p_user_id, 'payout');
    v_refusal := lp.kyc_refusal(p_user_id);
    IF v_refusal IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP111', MESSAGE = 'payouts need an approved identity verification',
            DETAIL = v_refusal, HINT = coalesce(p_hint, 'Wait until the performer is verified again.');
    END IF;
END
$$;
COMMENT ON FUNCTION lp.assert_payout_allowed(uuid, text) IS 'The gates of being paid out, one check for every step that decides a payout''s money may go (api.request_payout, api.approve_payout, api.send_payout, and api.mark_payout_paid of an approved payout): LP022 the user is suspended or banned, LP150 a payout_hold is in force (lp.assert_sanction_allows), LP111 no valid identity verification (lp.kyc_refusal; DETAIL why, HINT p_hint: what becomes of the payout). Changes nothing. Owner only.';
REVOKE ALL ON FUNCTION lp.assert_payout_allowed(uuid, text) FROM PUBLIC;
