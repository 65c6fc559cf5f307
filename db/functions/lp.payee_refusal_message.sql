-- No SET search_path (owner-only helper, see lp.payee_refusal): api.tip_many words its refusals with it in
-- its final query.
CREATE FUNCTION lp.payee_refusal_message(p_code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_code
               WHEN 'LP101' THEN 'nobody can pay themselves'
               WHEN 'LP003' THEN 'payee not found'
               WHEN 'LP102' THEN 'only performers can be paid'
               WHEN 'LP108' THEN 'the payee cannot be paid now'
               WHEN 'LP135' THEN 'the payee has no valid identity verification'
               WHEN 'LP124' THEN 'the performer has blocked this user'
           END
$$;
COMMENT ON FUNCTION lp.payee_refusal_message(text) IS 'The message of each code lp.payee_refusal returns (NULL for any other code): the one wording of a refused payee, raised by lp.refuse_payee and returned by api.tip_many. Owner only.';
REVOKE ALL ON FUNCTION lp.payee_refusal_message(text) FROM PUBLIC;
