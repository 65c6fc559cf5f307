CREATE FUNCTION lp.kyc_declines_left(p_user_id uuid) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- kyc.max_declines + the extra attempts admins allowed - the user's declined verifications (never below 0).
    SELECT greatest(0, (lp.setting('kyc.max_declines'))::integer
                       + coalesce((SELECT u.kyc_extra_attempts FROM lp.users AS u WHERE u.id = p_user_id), 0)
                       - (SELECT count(*)::integer FROM lp.kyc_verifications AS k
                           WHERE k.user_id = p_user_id AND k.status = 'declined'))
$$;
COMMENT ON FUNCTION lp.kyc_declines_left(uuid) IS 'How many more declined verifications the user may have before they cannot start another one: kyc.max_declines + lp.users.kyc_extra_attempts (api.allow_kyc_retry) - their declined verifications, at least 0. 0: api.submit_kyc refuses (LP131). Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_declines_left(uuid) FROM PUBLIC;
