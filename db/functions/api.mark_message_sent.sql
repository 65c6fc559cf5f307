CREATE FUNCTION api.mark_message_sent(
    p_message_id         uuid,
    p_attempt            integer,
    p_provider_reference text DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reference text := lp.check_text(p_provider_reference, 'provider_reference', 255);
    v_message   lp.outbox := lp.claimed_message(p_message_id, p_attempt);  -- LP018, LP003, LP004
BEGIN
    -- Delivered: the secrets in the payload are not needed any more.
    UPDATE lp.outbox AS o
       SET status = 'sent', payload = NULL, claimed_until = NULL, sent_at = now(), provider_reference = v_reference
     WHERE o.id = v_message.id;
    PERFORM lp.audit('outbox.sent', 'message', v_message.id::text,
                     jsonb_build_object('kind', v_message.kind, 'user_id', v_message.user_id,
                                        'attempt', v_message.attempts, 'provider_reference', v_reference), NULL, NULL);
END
$$;
COMMENT ON FUNCTION api.mark_message_sent(uuid, integer, text) IS 'Mailer only: records that the claimed message (attempt from api.claim_messages) was handed to the e-mail provider, with an optional provider reference (at most 255 characters, LP018); erases its payload. LP003 unknown id, LP004 not held by this claim (superseded, already settled, or claimed again after the lease ran out), LP018 no attempt. Audited (outbox.sent).';
REVOKE ALL ON FUNCTION api.mark_message_sent(uuid, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.mark_message_sent(uuid, integer, text) TO livepanty_mailer;
