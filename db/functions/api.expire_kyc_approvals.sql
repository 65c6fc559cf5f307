CREATE FUNCTION api.expire_kyc_approvals(p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_row      record;
    v_expired  integer := 0;
    v_users    integer := 0;
    v_streams  integer := 0;
    v_resynced integer := 0;
    v_ended    integer;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100000';
    END IF;
    -- 1. Approvals past their end (the document expired, or kyc.approval_valid_days passed): marked expired,
    -- once each (a second run finds none), by one worker (SKIP LOCKED). The triggers on lp.kyc_verifications
    -- stamp approval_ended_at and move the user's gate (lp.users.kyc_valid_until). Lock order: the
    -- verification, then the user's row (the trigger), then their streams (lp.end_streams_of).
    FOR v_row IN
        SELECT k.id, k.user_id, k.expires_at, e.ends_at
          FROM lp.kyc_verifications AS k
         CROSS JOIN LATERAL (SELECT lp.kyc_approval_end(k.reviewed_at, k.expires_at) AS ends_at) AS e
         WHERE k.status = 'approved' AND e.ends_at <= now()
         ORDER BY e.ends_at, k.id
         LIMIT p_limit
           FOR UPDATE OF k SKIP LOCKED
    LOOP
        UPDATE lp.kyc_verifications AS k SET status = 'expired', approval_ended_at = v_row.ends_at
         WHERE k.id = v_row.id;
        v_expired := v_expired + 1;
        v_ended := 0;
        -- Re-verification needed unless another approval still counts: their live streams end now.
        IF lp.kyc_refusal(v_row.user_id) IS NOT NULL THEN
            v_users := v_users + 1;
            v_ended := lp.end_streams_of(v_row.user_id, 'identity verification expired: re-verification needed');
            v_streams := v_streams + v_ended;
        END IF;
        PERFORM lp.audit('kyc.approval_expired', 'kyc_verification', v_row.id::text,
                         jsonb_build_object('user_id', v_row.user_id, 'ended_at', v_row.ends_at,
                                            'why', CASE WHEN v_row.expires_at IS NOT NULL
                                                             AND v_row.expires_at <= v_row.ends_at
                                                        THEN 'document expired' ELSE 'kyc.approval_valid_days' END,
                                            'reverification_needed', lp.kyc_refusal(v_row.user_id) IS NOT NULL,
                                            'streams_ended', v_ended),
                         p_actor_id => NULL);
    END LOOP;

    -- 2. Gates that disagree with the verifications (kyc.approval_valid_days was changed since they were
    -- computed): recomputed; a user whose gate closed that way has their live streams ended too.
    FOR v_row IN
        SELECT u.id FROM lp.users AS u
         WHERE u.kyc_valid_until IS NOT NULL
           AND u.kyc_valid_until IS DISTINCT FROM
               coalesce((SELECT max(lp.kyc_approval_end(k.reviewed_at, k.expires_at)) FROM lp.kyc_verifications AS k
                          WHERE k.user_id = u.id AND k.level = 'identity' AND k.status = 'approved'),
                        (SELECT max(k.approval_ended_at) FROM lp.kyc_verifications AS k
                          WHERE k.user_id = u.id AND k.level = 'identity' AND k.approval_ended_at IS NOT NULL))
         ORDER BY u.id
         LIMIT p_limit
           FOR NO KEY UPDATE OF u SKIP LOCKED
    LOOP
        PERFORM lp.refresh_kyc_gate(v_row.id);
        v_resynced := v_resynced + 1;
        IF lp.kyc_refusal(v_row.id) IS NOT NULL THEN
            v_streams := v_streams + lp.end_streams_of(v_row.id, 'identity verification expired: re-verification needed');
        END IF;
    END LOOP;

    IF v_expired + v_resynced > 0 THEN
        PERFORM lp.audit('kyc.expire_approvals', 'kyc_verification', NULL,
                         jsonb_build_object('expired', v_expired, 'reverification_needed', v_users,
                                            'streams_ended', v_streams, 'gates_recomputed', v_resynced),
                         p_actor_id => NULL);
    END IF;
    RETURN v_expired + v_resynced;
END
$$;
COMMENT ON FUNCTION api.expire_kyc_approvals(integer) IS 'Back office job (livepanty-db jobs expire-kyc; any number of workers): marks expired up to p_limit approved verifications past their end (lp.kyc_approval_end: the document''s expires_at, or kyc.approval_valid_days after the approval), oldest end first; each user left without an approval that counts needs re-verification (lp.kyc_refusal refuses them: no going live, no tips or holds, no payouts, until a new approval, which lifts it at once) and their live streams end (lp.end_streams_of). Then recomputes up to p_limit users'' gates that disagree with their verifications (after a change of kyc.approval_valid_days). Idempotent. Returns how many it handled (expired + recomputed). Audited: kyc.approval_expired per verification, kyc.expire_approvals with the counts. LP018 p_limit outside 1..100000.';
REVOKE ALL ON FUNCTION api.expire_kyc_approvals(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.expire_kyc_approvals(integer) TO livepanty_service;
