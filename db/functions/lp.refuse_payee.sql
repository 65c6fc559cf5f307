CREATE FUNCTION lp.refuse_payee(p_code text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_message text := lp.payee_refusal_message(p_code);
BEGIN
    IF v_message IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%L is not a payee refusal', p_code);
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = v_message;
END
$$;
COMMENT ON FUNCTION lp.refuse_payee(text) IS 'Raises a code of lp.payee_refusal (LP003, LP101, LP102, LP108, LP124, LP135) with its message (lp.payee_refusal_message); LP199 for any other code. Used by api.tip, api.place_hold and api.capture_hold.';
REVOKE ALL ON FUNCTION lp.refuse_payee(text) FROM PUBLIC;
