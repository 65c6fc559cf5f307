CREATE FUNCTION lp.replay_hold(
    p_hold       lp.holds,
    p_payee_id   uuid,
    p_amount     bigint,
    p_purpose    text,
    p_expires_in interval,
    p_stream_id  uuid
) RETURNS lp.holds
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    IF (p_hold.payee_id, p_hold.amount, p_hold.purpose::text, p_hold.expires_at - p_hold.created_at, p_hold.stream_id)
       IS DISTINCT FROM (p_payee_id, p_amount, p_purpose, p_expires_in, p_stream_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different hold',
            DETAIL = format('hold %s', p_hold.id);
    END IF;
    RETURN p_hold;
END
$$;
COMMENT ON FUNCTION lp.replay_hold(lp.holds, uuid, bigint, text, interval, uuid) IS 'Replay of api.place_hold with a used idempotency key: the original hold (whatever its state now) when the arguments match (p_expires_in already resolved to the effective lifetime), LP106 otherwise.';
REVOKE ALL ON FUNCTION lp.replay_hold(lp.holds, uuid, bigint, text, interval, uuid) FROM PUBLIC;
