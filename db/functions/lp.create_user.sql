CREATE FUNCTION lp.create_user(
    p_email         text,
    p_username      text,
    p_password      text,
    p_date_of_birth date,
    p_role          text,
    p_display_name  text,
    p_country_code  text
) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_email    ext.citext := lp.normalize_email(p_email);
    v_username ext.citext := lp.normalize_username(p_username);
    v_display  text := lp.check_text(p_display_name, 'display_name', 64);
    v_country  text := upper(nullif(btrim(p_country_code), ''));
    v_min_age  integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_user_id  uuid;
    v_constraint text;
BEGIN
    PERFORM lp.check_choice(p_role, 'lp.user_role', 'role', 'LP017');
    IF p_date_of_birth IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP014', MESSAGE = 'date of birth is required';
    END IF;
    -- 1900-01-01 is refused too: it is what an erasure writes over a date of birth (and a shard over a stub's),
    -- and reporting reads it as none (reporting.users: no age band).
    IF p_date_of_birth > current_date OR p_date_of_birth <= DATE '1900-01-01' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP014', MESSAGE = 'date of birth is not plausible',
            DETAIL = format('%s', p_date_of_birth);
    END IF;
    IF p_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
        RAISE EXCEPTION USING ERRCODE = 'LP013',
            MESSAGE = format('users must be at least %s years old', v_min_age);
    END IF;
    IF v_country IS NOT NULL AND v_country !~ '^[A-Z]{2}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'country_code must be an ISO 3166-1 alpha-2 code';
    END IF;
    PERFORM lp.check_password_strength(p_password, v_username::text, v_email::text);

    -- The friendly errors for the common case; a concurrent registration of the same address or handle is
    -- caught by the unique indexes below (no advisory lock on a guessable key, which any login could hold
    -- to block a registration).
    IF EXISTS (SELECT 1 FROM lp.users AS u WHERE u.email = v_email AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP015', MESSAGE = 'email is already registered';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.users AS u WHERE u.username = v_username AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP016', MESSAGE = 'username is taken';
    END IF;

    BEGIN
        INSERT INTO lp.users (email, username, display_name, password_hash, role, date_of_birth, country_code)
        VALUES (v_email, v_username, v_display, lp.hash_password(p_password), p_role::lp.user_role, p_date_of_birth, v_country)
        RETURNING id INTO v_user_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'users_email_key' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP015', MESSAGE = 'email is already registered';
        ELSIF v_constraint = 'users_username_key' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP016', MESSAGE = 'username is taken';
        END IF;
        RAISE;
    END;
    INSERT INTO lp.user_preferences (user_id) VALUES (v_user_id);
    PERFORM lp.ensure_wallet_shards(lp.open_wallet(v_user_id));
    RETURN v_user_id;
END
$$;
COMMENT ON FUNCTION lp.create_user(text, text, text, date, text, text, text) IS 'Validates and creates a user with preferences and a wallet. Shared by api.register_user and api.create_admin.';
REVOKE ALL ON FUNCTION lp.create_user(text, text, text, date, text, text, text) FROM PUBLIC;
