CREATE FUNCTION lp.erase(
    p_user_id      uuid,
    p_via          text,
    p_requested_by uuid,
    p_reason       text
) RETURNS lp.erasures
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_role    text;
    v_deleted boolean;
    v_pending text[];
    v_ended   integer;
    v_erasure lp.erasures;
BEGIN
    -- The user's open identity verifications before the user row: the erasure abandons them
    -- (lp.erase_personal_data), and the KYC functions lock a verification before its user's row (the gate's cache;
    -- api.apply_kyc_webhook, api.approve_kyc, api.expire_kyc_approvals), so taking them after it could deadlock.
    PERFORM 1 FROM lp.kyc_verifications AS k
     WHERE k.user_id = p_user_id AND k.status IN ('started', 'submitted', 'in_review', 'resubmission_requested')
       FOR UPDATE;
    -- Then the user row (FOR NO KEY UPDATE, as api.delete_user: foreign keys onto it key-share it).
    SELECT u.role::text, u.deleted_at IS NOT NULL INTO v_role, v_deleted
      FROM lp.users AS u WHERE u.id = p_user_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.erasures AS e WHERE e.user_id = p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the user is already erased';
    END IF;
    -- An active staff account is demoted first (the admin count and lock order of api.set_user_role stay in
    -- one place); a deleted one (api.delete_user, which kept the last admin) may be erased as it is.
    IF v_role IN ('moderator', 'admin', 'compliance_officer') AND NOT v_deleted THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'an active staff account cannot be erased',
            HINT = 'An admin changes the account''s role to viewer first (api.set_user_role), or deletes it; its moderation history stays.';
    END IF;
    -- Money in flight would have to be settled with a person nobody can reach any more: refuse until it is done.
    v_pending := ARRAY(
        SELECT what FROM (
            SELECT 'open holds' AS what WHERE EXISTS (SELECT 1 FROM lp.holds AS h
                                                      WHERE (h.user_id = p_user_id OR h.payee_id = p_user_id) AND h.status = 'open')
            UNION ALL SELECT 'payouts in progress' WHERE EXISTS (SELECT 1 FROM lp.payouts AS p
                                                                 WHERE p.user_id = p_user_id AND p.status IN ('requested', 'approved', 'sending'))
            UNION ALL SELECT 'pending payments' WHERE EXISTS (SELECT 1 FROM lp.payments AS p
                                                              WHERE p.user_id = p_user_id AND p.status = 'pending')
        ) AS x);
    IF cardinality(v_pending) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP170', MESSAGE = 'the account has money in flight: it cannot be erased yet',
            DETAIL = array_to_string(v_pending, ', '),
            HINT = 'Wait for the holds to close and the payouts and payments to finish (or cancel them), then ask again.';
    END IF;
    v_ended := lp.end_streams_of(p_user_id, 'account erased', 'account erased');
    INSERT INTO lp.erasures (user_id, via, requested_by, reason, erased, retained, kyc_retained_until)
    VALUES (p_user_id, p_via, p_requested_by, p_reason,
            lp.erase_personal_data(p_user_id) || jsonb_build_object('streams_ended', v_ended),
            lp.retained_records(p_user_id, now()),
            CASE WHEN EXISTS (SELECT 1 FROM lp.kyc_verifications AS k WHERE k.user_id = p_user_id)
                 THEN now() + make_interval(years => (lp.setting('privacy.kyc_retention_years'))::integer) END)
    RETURNING * INTO v_erasure;
    PERFORM lp.audit('user.erase', 'user', p_user_id::text,
                     jsonb_build_object('erasure_id', v_erasure.id, 'via', p_via, 'erased', v_erasure.erased,
                                        'retained', (SELECT coalesce(jsonb_agg(r -> 'category'), '[]')
                                                       FROM jsonb_array_elements(v_erasure.retained) AS r)));
    RETURN v_erasure;
END
$$;
COMMENT ON FUNCTION lp.erase(uuid, text, uuid, text) IS 'Owner only, the one erasure path of api.request_erasure and api.erase_user: locks the user, refuses an erased user or an active staff account (LP004; a deleted one may be erased), money in flight (LP170: open holds, payouts in progress, pending payments), ends the user''s live streams, erases their personal data (lp.erase_personal_data), logs the erasure with what was erased and what is retained until when (lp.erasures), audits it.';
REVOKE ALL ON FUNCTION lp.erase(uuid, text, uuid, text) FROM PUBLIC;
