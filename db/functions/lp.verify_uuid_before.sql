CREATE FUNCTION lp.verify_uuid_before(p_id uuid) RETURNS uuid
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_bytes bytea := uuid_send(p_id);
    v_i     integer := 15;
BEGIN
    IF p_id = '00000000-0000-0000-0000-000000000000' THEN
        RETURN NULL;
    END IF;
    -- Subtract one from the 128-bit big-endian number, borrowing through trailing zero bytes.
    WHILE get_byte(v_bytes, v_i) = 0 LOOP
        v_bytes := set_byte(v_bytes, v_i, 255);
        v_i := v_i - 1;
    END LOOP;
    v_bytes := set_byte(v_bytes, v_i, get_byte(v_bytes, v_i) - 1);
    RETURN encode(v_bytes, 'hex')::uuid;
END
$$;
COMMENT ON FUNCTION lp.verify_uuid_before(uuid) IS 'The uuid just before p_id in uuid order (NULL for the nil uuid): the inclusive upper bound of a wallet-id range that ends where the next one starts (api.ledger_stats chunks).';
REVOKE ALL ON FUNCTION lp.verify_uuid_before(uuid) FROM PUBLIC;
