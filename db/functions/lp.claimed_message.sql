CREATE FUNCTION lp.claimed_message(p_message_id uuid, p_attempt integer) RETURNS lp.outbox
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_message lp.outbox;
BEGIN
    IF p_attempt IS NULL OR p_attempt < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'attempt must be the positive number api.claim_messages returned';
    END IF;
    SELECT o.* INTO v_message FROM lp.outbox AS o WHERE o.id = p_message_id FOR UPDATE;
    IF v_message.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'message not found';
    END IF;
    -- Only the latest claim may settle a message: not one that was superseded, sent or given up meanwhile, not
    -- one waiting for a retry, and not an older claim whose lease ran out and that another mailer took since.
    IF v_message.status <> 'queued' OR v_message.claimed_until IS NULL OR v_message.attempts <> p_attempt THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the message is not held by this claim',
            DETAIL = format('status %s, attempt %s, claimed %s', v_message.status, v_message.attempts,
                            v_message.claimed_until IS NOT NULL),
            HINT = 'Do not send it again; claim new messages.';
    END IF;
    RETURN v_message;
END
$$;
COMMENT ON FUNCTION lp.claimed_message(uuid, integer) IS 'Locks and returns an outbox message that the given claim (attempt number from api.claim_messages) still holds: LP018 no attempt, LP003 unknown id, LP004 not queued, not claimed, or claimed again since. Used by api.mark_message_sent and api.mark_message_failed.';
REVOKE ALL ON FUNCTION lp.claimed_message(uuid, integer) FROM PUBLIC;
