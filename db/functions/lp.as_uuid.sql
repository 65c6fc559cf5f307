-- The one spelling of "this text is a UUID" for the functions that read ids out of JSON or audit targets (text):
-- an inlinable expression, so a caller's plan holds the test and the cast, not a function call.
CREATE FUNCTION lp.as_uuid(p_text text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_text ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                THEN p_text::uuid END
$$;
COMMENT ON FUNCTION lp.as_uuid(text) IS 'p_text as a uuid when it is one in the canonical 8-4-4-4-12 hexadecimal spelling, else NULL (never an error): how the functions that read ids out of JSON details or text targets (RLS helpers on lp.audit_logs, api.tip_many''s items) tell an id from anything else.';
REVOKE ALL ON FUNCTION lp.as_uuid(text) FROM PUBLIC;
