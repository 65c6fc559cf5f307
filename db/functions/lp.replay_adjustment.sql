CREATE FUNCTION lp.replay_adjustment(
    p_adjustment lp.adjustments,
    p_user_id    uuid,
    p_amount     bigint,
    p_reason     text
) RETURNS lp.adjustments
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    IF (p_adjustment.user_id, p_adjustment.amount, p_adjustment.reason)
       IS DISTINCT FROM (p_user_id, p_amount, p_reason) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different adjustment',
            DETAIL = format('adjustment %s', p_adjustment.id);
    END IF;
    RETURN p_adjustment;
END
$$;
COMMENT ON FUNCTION lp.replay_adjustment(lp.adjustments, uuid, bigint, text) IS 'Replay of api.adjust_balance with a used idempotency key: the original adjustment when the arguments match, LP106 otherwise.';
REVOKE ALL ON FUNCTION lp.replay_adjustment(lp.adjustments, uuid, bigint, text) FROM PUBLIC;
