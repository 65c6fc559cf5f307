CREATE FUNCTION lp.require_user(VARIADIC p_roles text[] DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_user_id uuid := api.current_user_id();
    v_role    text;
BEGIN
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP001', MESSAGE = 'no user is acting in this transaction',
            HINT = 'Call api.authenticate(token) or set lp.user_id for the transaction first.';
    END IF;
    SELECT u.role::text INTO v_role FROM lp.users AS u WHERE u.id = v_user_id AND u.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP001', MESSAGE = 'the acting user does not exist or was deleted',
            DETAIL = format('lp.user_id = %s', v_user_id);
    END IF;
    IF p_roles IS NOT NULL AND NOT v_role = ANY (p_roles) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'permission denied for this platform role',
            DETAIL = format('acting role %s; required one of %s', v_role, array_to_string(p_roles, ', '));
    END IF;
    RETURN v_user_id;
END
$$;
COMMENT ON FUNCTION lp.require_user(text[]) IS 'Returns the acting user id; LP001 when nobody (or a deleted user) acts, LP002 when the user''s platform role is not among p_roles.';
REVOKE ALL ON FUNCTION lp.require_user(text[]) FROM PUBLIC;
