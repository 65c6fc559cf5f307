CREATE FUNCTION lp.user_account(p_user_id uuid) RETURNS api.user_account
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT ROW(u.id, u.email::text, u.username::text, u.display_name, u.role, u.date_of_birth, u.country_code,
               u.email_verified_at, u.age_verified_at, u.last_login_at, u.created_at, u.deleted_at)::api.user_account
      FROM lp.users AS u
     WHERE u.id = p_user_id
$$;
COMMENT ON FUNCTION lp.user_account(uuid) IS 'A users row as api.user_account (never the password hash).';
REVOKE ALL ON FUNCTION lp.user_account(uuid) FROM PUBLIC;
