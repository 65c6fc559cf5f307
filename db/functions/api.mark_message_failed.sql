CREATE FUNCTION api.mark_message_failed(
    p_message_id uuid,
    p_attempt    integer,
    p_error      text,
    p_permanent  boolean DEFAULT false
) RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_error   text := lp.check_text(p_error, 'error', 1000, true);
    v_max     integer := (lp.setting('outbox.max_attempts'))::integer;
    v_retry   integer := (lp.setting('outbox.retry_seconds'))::integer;
    v_message lp.outbox := lp.claimed_message(p_message_id, p_attempt);  -- LP018, LP003, LP004
    v_next    timestamptz;
BEGIN
    IF coalesce(p_permanent, false) OR v_message.attempts >= v_max THEN
        -- Given up: the secrets in the payload go.
        UPDATE lp.outbox AS o SET status = 'failed', payload = NULL, claimed_until = NULL, last_error = v_error
         WHERE o.id = v_message.id;
    ELSE
        -- Back to the queue after retry_seconds, doubled for each further attempt, at most one day.
        v_next := now() + make_interval(secs => least(86400, v_retry * power(2, least(v_message.attempts - 1, 20))));
        UPDATE lp.outbox AS o SET claimed_until = NULL, next_attempt_at = v_next, last_error = v_error
         WHERE o.id = v_message.id;
    END IF;
    -- The error text stays in the outbox row only (which the erasure and the e-mail retention purge delete): a
    -- mailer's error quotes the recipient (an SMTP bounce names the address), and the audit trail is kept for
    -- years. The audit row gets what classifies it: the SMTP reply code it starts with, if any, and whether the
    -- mailer called it permanent.
    PERFORM lp.audit('outbox.failed', 'message', v_message.id::text,
                     jsonb_build_object('kind', v_message.kind, 'user_id', v_message.user_id,
                                        'attempt', v_message.attempts,
                                        'smtp_code', substring(v_error FROM '^\s*([245][0-9][0-9])(?![0-9])'),
                                        'permanent', coalesce(p_permanent, false),
                                        'gave_up', v_next IS NULL, 'retry_at', v_next), NULL, NULL);
    RETURN v_next;
END
$$;
COMMENT ON FUNCTION api.mark_message_failed(uuid, integer, text, boolean) IS 'Mailer only: records that delivering the claimed message (attempt from api.claim_messages) failed, with the error (1..1000 characters, LP018), kept in the outbox row (last_error) only: the audit row has its SMTP reply code and the permanent flag, never the text (it may quote the recipient''s address). The message is offered again after outbox.retry_seconds, doubled per further attempt (returns that time), unless p_permanent or outbox.max_attempts attempts are used up: then it is failed for good, its payload erased (returns NULL). LP003 unknown id, LP004 not held by this claim. Audited (outbox.failed).';
REVOKE ALL ON FUNCTION api.mark_message_failed(uuid, integer, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.mark_message_failed(uuid, integer, text, boolean) TO livepanty_mailer;
