CREATE FUNCTION lp.assert_sanction_allows(p_user_id uuid, VARIADIC p_actions text[]) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_sanction lp.user_sanctions := lp.sanction_refusal(p_user_id, VARIADIC p_actions);
BEGIN
    IF v_sanction.id IS NULL THEN
        RETURN;
    END IF;
    IF v_sanction.sanction_type IN ('suspension', 'ban') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP022',
            MESSAGE = format('account is under a %s', v_sanction.sanction_type),
            DETAIL = CASE WHEN v_sanction.ends_at IS NULL THEN 'permanent'
                          ELSE format('until %s', v_sanction.ends_at) END,
            HINT = format('Sanction %s; it may be appealed (api.appeal_sanction).', v_sanction.id);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'LP150',
        MESSAGE = format('a %s forbids this (%s)', v_sanction.sanction_type, array_to_string(p_actions, ', ')),
        DETAIL = CASE WHEN v_sanction.ends_at IS NULL THEN 'until lifted'
                      ELSE format('until %s', v_sanction.ends_at) END,
        HINT = format('Sanction %s; it may be appealed (api.appeal_sanction).', v_sanction.id);
END
$$;
COMMENT ON FUNCTION lp.assert_sanction_allows(uuid, text[]) IS 'Raises when a sanction in force forbids the user any of the given actions (lp.sanction_refusal): LP022 for a suspension or ban, LP150 for a restricting sanction (mute, tip_block, stream_block, payout_hold), naming the sanction. Owner only.';
REVOKE ALL ON FUNCTION lp.assert_sanction_allows(uuid, text[]) FROM PUBLIC;
