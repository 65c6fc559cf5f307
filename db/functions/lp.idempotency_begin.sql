CREATE FUNCTION lp.idempotency_begin(p_scope text, p_key text, p_request jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_row  lp.idempotency_keys;
    v_slot text;
BEGIN
    IF p_key IS NULL OR btrim(p_key) = '' OR char_length(p_key) > 128 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'idempotency_key is required (1..128 characters)';
    END IF;
    v_slot := lp.idempotency_slot(p_scope, p_key);
    -- Claim the key. A concurrent call with the same key waits here until the first one commits (then
    -- sees its row) or rolls back (then claims the key itself).
    INSERT INTO lp.idempotency_keys (scope, key, request) VALUES (p_scope, v_slot, p_request)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT k.* INTO v_row FROM lp.idempotency_keys AS k WHERE k.scope = p_scope AND k.key = v_slot;
    IF v_row.request IS DISTINCT FROM p_request THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used with other arguments',
            DETAIL = format('%s key %s', p_scope, p_key);
    END IF;
    RETURN v_row.response;
END
$$;
COMMENT ON FUNCTION lp.idempotency_begin(text, text, jsonb) IS 'Start of an idempotent state transition (keys are per caller, those of the payment webhooks and of payout processing the back office''s whoever it acts as: lp.idempotency_slot): NULL when the key is new (the caller proceeds and ends with lp.idempotency_finish), the stored response when this exact request was already made, LP106 when the key was used with another request.';
REVOKE ALL ON FUNCTION lp.idempotency_begin(text, text, jsonb) FROM PUBLIC;
