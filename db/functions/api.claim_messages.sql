CREATE FUNCTION api.claim_messages(
    p_limit integer DEFAULT 10,
    p_lease interval DEFAULT interval '5 minutes'
) RETURNS TABLE (id uuid, kind text, email text, payload jsonb, attempt integer, claimed_until timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_max integer := (lp.setting('outbox.max_attempts'))::integer;
    v_row record;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_lease IS NULL OR p_lease < interval '1 second' OR p_lease > interval '1 hour' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'lease must be between 1 second and 1 hour';
    END IF;

    -- First retire, among the queued messages nobody holds (no lease running, no row lock: SKIP LOCKED), those
    -- that must never go out: the user was deleted (cancelled), the content expired (expired), or every attempt
    -- was used by a mailer that never reported back (failed). Their payload is erased.
    FOR v_row IN
        WITH retired AS (
            SELECT o.id,
                   CASE WHEN u.deleted_at IS NOT NULL THEN 'cancelled'
                        WHEN o.expires_at <= now() THEN 'expired'
                        ELSE 'failed' END AS status
              FROM lp.outbox AS o JOIN lp.users AS u ON u.id = o.user_id
             WHERE o.status = 'queued' AND (o.claimed_until IS NULL OR o.claimed_until <= now())
               AND (u.deleted_at IS NOT NULL OR o.expires_at <= now() OR o.attempts >= v_max)
               FOR UPDATE OF o SKIP LOCKED
        )
        UPDATE lp.outbox AS o
           SET status = r.status, payload = NULL, claimed_until = NULL,
               last_error = CASE WHEN r.status = 'failed' THEN 'no report from the mailer after the last attempt'
                                 ELSE o.last_error END
          FROM retired AS r
         WHERE o.id = r.id
        RETURNING o.id, o.kind, o.user_id, o.status, o.attempts, o.last_error
    LOOP
        PERFORM lp.audit('outbox.' || v_row.status, 'message', v_row.id::text,
                         jsonb_build_object('kind', v_row.kind, 'user_id', v_row.user_id, 'attempts', v_row.attempts)
                         || CASE WHEN v_row.status = 'failed' THEN jsonb_build_object('gave_up', true, 'error', v_row.last_error)
                                 ELSE '{}' END, NULL, NULL);
    END LOOP;

    -- Then claim the oldest due messages that no other mailer holds. A row another transaction is claiming right
    -- now is skipped (SKIP LOCKED); once that claim commits, its lease keeps the row out of every later claim
    -- until the lease runs out (a crashed mailer's messages come back then).
    FOR v_row IN
        WITH picked AS (
            SELECT o.id FROM lp.outbox AS o
             WHERE o.status = 'queued' AND o.next_attempt_at <= now()
               AND (o.claimed_until IS NULL OR o.claimed_until <= now())
               AND (o.expires_at IS NULL OR o.expires_at > now()) AND o.attempts < v_max
               AND EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = o.user_id AND u.deleted_at IS NULL)
             ORDER BY o.next_attempt_at, o.created_at, o.id
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED
        )
        UPDATE lp.outbox AS o SET attempts = o.attempts + 1, claimed_until = now() + p_lease
          FROM picked AS p
         WHERE o.id = p.id
        RETURNING o.id, o.kind, o.user_id, o.email, o.payload, o.attempts, o.claimed_until, o.next_attempt_at
    LOOP
        PERFORM lp.audit('outbox.claim', 'message', v_row.id::text,
                         jsonb_build_object('kind', v_row.kind, 'user_id', v_row.user_id, 'attempt', v_row.attempts,
                                            'claimed_until', v_row.claimed_until), NULL, NULL);
        id := v_row.id;
        kind := v_row.kind;
        email := v_row.email;
        payload := v_row.payload;
        attempt := v_row.attempts;
        claimed_until := v_row.claimed_until;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.claim_messages(integer, interval) IS 'Mailer only: claims up to p_limit (1..1000) due e-mails for p_lease (1 second..1 hour), oldest first, skipping those another mailer holds (SKIP LOCKED, then the lease); returns recipient, kind, payload (secrets included) and the attempt number to quote when reporting. Retires first what must not go out (user deleted: cancelled; content expired: expired; outbox.max_attempts claims without a report: failed), erasing the payload. LP018 bad limit or lease. Audited (outbox.claim, outbox.cancelled/expired/failed).';
REVOKE ALL ON FUNCTION api.claim_messages(integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.claim_messages(integer, interval) TO livepanty_mailer;
