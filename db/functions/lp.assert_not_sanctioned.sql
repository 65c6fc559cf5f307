CREATE FUNCTION lp.assert_not_sanctioned(
    p_user_id uuid,
    p_types   text[] DEFAULT ARRAY['suspension', 'ban']
) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_sanction lp.user_sanctions := lp.active_sanction(p_user_id, p_types);
BEGIN
    IF v_sanction.id IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP022',
            MESSAGE = format('account is under a %s', v_sanction.sanction_type),
            DETAIL = CASE WHEN v_sanction.ends_at IS NULL THEN 'permanent'
                          ELSE format('until %s', v_sanction.ends_at) END,
            HINT = 'Contact support to appeal.';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.assert_not_sanctioned(uuid, text[]) IS 'Raises LP022 when lp.active_sanction finds a sanction in force for the user.';
REVOKE ALL ON FUNCTION lp.assert_not_sanctioned(uuid, text[]) FROM PUBLIC;
