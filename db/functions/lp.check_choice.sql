CREATE FUNCTION lp.check_choice(p_value text, p_type regtype, p_what text, p_code text DEFAULT 'LP018')
    RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_allowed text[];
BEGIN
    -- The allowed values live in one place, the enum type (db/schema/08_vocabularies.sql); this reads them.
    SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) INTO v_allowed
      FROM pg_catalog.pg_enum AS e
     WHERE e.enumtypid = p_type;
    IF v_allowed IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%s is not an enum type', p_type);
    END IF;
    IF p_value IS NULL OR NOT p_value = ANY (v_allowed) THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = format('invalid %s %L', p_what, left(p_value, 50)),
            HINT = format('One of %s.', array_to_string(v_allowed, ', '));
    END IF;
    RETURN p_value;
END
$$;
COMMENT ON FUNCTION lp.check_choice(text, regtype, text, text) IS 'Returns p_value when it is one of the values of the enum type p_type (the one place a closed list of values is written); otherwise raises p_code (LP018 by default; LP017 for roles) naming p_what, with the allowed values in the hint. NULL is not a value: callers with an optional argument check it only when given.';
REVOKE ALL ON FUNCTION lp.check_choice(text, regtype, text, text) FROM PUBLIC;
