CREATE FUNCTION api.expire_sanctions(p_limit integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_sanction lp.user_sanctions;
    v_case     uuid;
    v_count    integer := 0;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 10000';
    END IF;
    -- Timed sanctions lift by themselves (every check compares ends_at with now()). What is left to do is
    -- for a suspension marked review_on_expiry: once it ended (not lifted early), the account goes back to
    -- the review queue. Lifted early means revoked before its end: one revoked at or after its end (allowed,
    -- it lifts nothing; a granted appeal of the ended suspension does it) ran its course and is reviewed all
    -- the same, whether the revoke came before this job's run or after. Each is handled once
    -- (expiry_handled_at), by one worker (SKIP LOCKED). The condition is the predicate of the partial index
    -- user_sanctions_review_due_idx.
    FOR v_sanction IN
        SELECT s.* FROM lp.user_sanctions AS s
         WHERE s.review_on_expiry AND s.expiry_handled_at IS NULL
           AND (s.revoked_at IS NULL OR s.revoked_at >= s.ends_at)
           AND s.ends_at <= now()
         ORDER BY s.ends_at, s.id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    LOOP
        v_case := lp.open_case('system', 'sanction_review', v_sanction.user_id, NULL,
                               jsonb_build_object('sanction_id', v_sanction.id,
                                                  'sanction_type', v_sanction.sanction_type,
                                                  'ended_at', v_sanction.ends_at,
                                                  'sanction_reason', v_sanction.reason));
        UPDATE lp.user_sanctions AS s SET expiry_handled_at = now(), expiry_case_id = v_case
         WHERE s.id = v_sanction.id;
        PERFORM lp.audit('sanction.expire_review', 'user', v_sanction.user_id::text,
                         jsonb_build_object('sanction_id', v_sanction.id, 'case_id', v_case), p_actor_id => NULL);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION api.expire_sanctions(integer) IS 'Back office job (livepanty-db sanctions expire; any number of workers): for up to p_limit suspensions marked review_on_expiry that have ended (not lifted early: one revoked at or after its end is handled too) and were not handled yet, files a review case for the account in the review queue (lp.open_case, source system, reason sanction_review) and records it on the sanction (expiry_handled_at, expiry_case_id): idempotent, each once. Other timed sanctions need nothing: they lift by themselves at ends_at. Returns how many it handled. LP018 p_limit outside 1..10000. Audited (sanction.expire_review).';
REVOKE ALL ON FUNCTION api.expire_sanctions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.expire_sanctions(integer) TO livepanty_service;
