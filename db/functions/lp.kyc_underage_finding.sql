CREATE FUNCTION lp.kyc_underage_finding(p_user_id uuid, p_finding_id uuid, p_actor_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_revoked uuid[];
    v_ended   integer := 0;
BEGIN
    -- A verification declined while its verified date of birth shows a minor (a provider's finding, or a
    -- reviewer's decline of it) refutes every earlier approval of the person: each approval that still counts
    -- ends now (declined, decided_by age_check: an admin may approve it again with api.override_kyc_decision if
    -- the finding was wrong), the account is no longer age verified, and the performer's live streams end now,
    -- as an override's revocation ends them (unless the finding itself is an approval that still counts, which
    -- its caller handles). Lock order: the caller holds the finding's verification; the
    -- approvals here in id order, then the user's row (the gate's trigger), then the streams.
    SELECT array_agg(k.id ORDER BY k.id) INTO v_revoked
      FROM (SELECT k.id FROM lp.kyc_verifications AS k
             WHERE k.user_id = p_user_id AND k.id <> p_finding_id AND k.status = 'approved'
               AND lp.kyc_approval_end(k.reviewed_at, k.expires_at) > now()
             ORDER BY k.id
               FOR UPDATE) AS k;
    IF v_revoked IS NULL THEN
        RETURN 0;
    END IF;
    UPDATE lp.kyc_verifications AS k
       SET status = 'declined', decided_by = 'age_check', reviewed_at = now(), reviewed_by = p_actor_id,
           rejection_reason = 'underage: a later identity verification found the person under the minimum age'
     WHERE k.id = ANY (v_revoked);
    UPDATE lp.users AS u SET age_verified_at = NULL WHERE u.id = p_user_id AND u.age_verified_at IS NOT NULL;
    IF lp.kyc_refusal(p_user_id) IS NOT NULL THEN
        v_ended := lp.end_streams_of(p_user_id, 'identity verification revoked: underage finding');
    END IF;
    PERFORM lp.audit('kyc.underage_revoke', 'user', p_user_id::text,
                     jsonb_build_object('finding_verification_id', p_finding_id, 'revoked', to_jsonb(v_revoked),
                                        'streams_ended', v_ended),
                     p_actor_id => p_actor_id);
    RETURN cardinality(v_revoked);
END
$$;
COMMENT ON FUNCTION lp.kyc_underage_finding(uuid, uuid, uuid) IS 'Owner only, called when a verification (p_finding_id) is declined while its verified date of birth is under auth.minimum_age_years (api.apply_kyc_webhook, api.reject_kyc, api.override_kyc_decision), before it is updated: every other approval of the user that still counts is declined now (decided_by age_check, reviewed_by p_actor_id, an underage rejection_reason), the user''s age_verified_at is cleared, their live streams end (lp.end_streams_of) when no approval that counts is left, and the revocation is audited (kyc.underage_revoke, target the user: finding_verification_id, revoked, streams_ended; actor p_actor_id, NULL for a provider). Returns how many approvals it ended (0: nothing to do, nothing written).';
REVOKE ALL ON FUNCTION lp.kyc_underage_finding(uuid, uuid, uuid) FROM PUBLIC;
