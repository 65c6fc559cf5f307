CREATE FUNCTION lp.sanctioned(p_user_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- The rule lives in one place (lp.sanction_types, through lp.sanction_blocks): what blocks a login, a
    -- suspension or a ban in force, is what this asks. Kept as a name for the payee rule's callers.
    RETURN lp.sanction_blocks(p_user_id, 'login');
END
$$;
COMMENT ON FUNCTION lp.sanctioned(uuid) IS 'Whether a suspension or ban is in force for the user: lp.sanction_blocks(user, ''login''), the one sanction rule (lp.sanction_types). Owner-only, called from SECURITY DEFINER functions (no pinned search path of its own: every name is qualified).';
REVOKE ALL ON FUNCTION lp.sanctioned(uuid) FROM PUBLIC;
