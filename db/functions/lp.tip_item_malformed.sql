-- One rule for api.tip_many and the router's api.tip_many (which must know a malformed tip before it sends a tip
-- across shards, and leaves it to the sender's shard to refuse in its own words). A single expression with no
-- sub-select, so that it is inlined into its callers' plans: the unknown-field test removes the known fields and
-- asks whether anything is left.
CREATE FUNCTION lp.tip_item_malformed(p_item jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN jsonb_typeof(p_item) IS DISTINCT FROM 'object' THEN true
                ELSE coalesce(jsonb_typeof(p_item -> 'recipient_id') IS DISTINCT FROM 'string'
                              OR lp.as_uuid(p_item ->> 'recipient_id') IS NULL
                              OR jsonb_typeof(p_item -> 'amount') IS DISTINCT FROM 'number'
                              OR NOT (p_item ->> 'amount') ~ '^-?[0-9]{1,30}$'
                              OR jsonb_typeof(p_item -> 'idempotency_key') IS DISTINCT FROM 'string'
                              OR coalesce(jsonb_typeof(p_item -> 'stream_id'), 'null') NOT IN ('null', 'string')
                              OR (jsonb_typeof(p_item -> 'stream_id') = 'string'
                                  AND lp.as_uuid(p_item ->> 'stream_id') IS NULL)
                              OR coalesce(jsonb_typeof(p_item -> 'message'), 'null') NOT IN ('null', 'string')
                              OR coalesce(jsonb_typeof(p_item -> 'is_anonymous'), 'null') NOT IN ('null', 'boolean')
                              OR coalesce(jsonb_typeof(p_item -> 'session_token'), 'null') NOT IN ('null', 'string')
                              OR coalesce(jsonb_typeof(p_item -> 'menu_item_id'), 'null') NOT IN ('null', 'string')
                              OR (jsonb_typeof(p_item -> 'menu_item_id') = 'string'
                                  AND lp.as_uuid(p_item ->> 'menu_item_id') IS NULL)
                              OR (p_item - ARRAY['session_token', 'recipient_id', 'amount', 'idempotency_key', 'stream_id',
                                                 'message', 'is_anonymous', 'menu_item_id']) <> '{}'::jsonb, false)
           END
$$;
COMMENT ON FUNCTION lp.tip_item_malformed(jsonb) IS 'Whether one element of api.tip_many''s array is malformed (LP018): not an object, a field of the wrong JSON type (recipient_id, stream_id and menu_item_id UUID strings, amount an integer, idempotency_key, message and session_token strings, is_anonymous a boolean), or a field that is not one of these. The length limits of the key and the message are checked later, in api.tip''s order.';
REVOKE ALL ON FUNCTION lp.tip_item_malformed(jsonb) FROM PUBLIC;
