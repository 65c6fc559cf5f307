CREATE FUNCTION lp.replay_tip(
    p_tip          lp.tips,
    p_recipient_id uuid,
    p_amount       bigint,
    p_stream_id    uuid,
    p_message      text,
    p_is_anonymous boolean,
    p_menu_item_id uuid
) RETURNS lp.tips
    LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF (p_tip.recipient_id, p_tip.amount, p_tip.stream_id, p_tip.message, p_tip.is_anonymous, p_tip.menu_item_id)
       IS DISTINCT FROM (p_recipient_id, p_amount, p_stream_id, p_message, coalesce(p_is_anonymous, false),
                         p_menu_item_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip',
            DETAIL = format('tip %s', p_tip.id);
    END IF;
    RETURN p_tip;
END
$$;
COMMENT ON FUNCTION lp.replay_tip(lp.tips, uuid, bigint, uuid, text, boolean, uuid) IS 'Replay of api.tip with a used idempotency key: the original tip when the arguments match (menu item included), LP106 otherwise.';
REVOKE ALL ON FUNCTION lp.replay_tip(lp.tips, uuid, bigint, uuid, text, boolean, uuid) FROM PUBLIC;
