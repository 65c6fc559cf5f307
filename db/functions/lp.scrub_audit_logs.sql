CREATE FUNCTION lp.scrub_audit_logs(
    p_users uuid[],
    p_ips   inet[],
    p_from  timestamptz DEFAULT '-infinity',
    p_to    timestamptz DEFAULT 'infinity'
) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    -- Free-text keys of audit details: what a user typed (or a mailer's error text, which quotes the address).
    v_free  text[] := ARRAY['user_agent', 'email', 'username', 'display_name', 'message', 'description', 'name',
                            'title', 'tags', 'error'];
    -- Actions whose 'reason' is a fixed code, never free text: kept.
    v_coded text[] := ARRAY['auth.login_failed', 'auth.login_refused', 'auth.password_change_failed',
                            'auth.session_revoke', 'report.file'];
    v_staff text[] := ARRAY['moderator', 'admin', 'compliance_officer'];
    v_n     integer;
    v_count integer;
BEGIN
    -- The erasure's scrub of the audit trail, for the erased users p_users, over the rows that occurred in
    -- [p_from, p_to): lp.erase_personal_data runs it over the whole trail for one user, api.restore_partition
    -- over a restored month for every user of lp.erasures (their rows were in the archive file when they were
    -- erased). The caller has called lp.begin_scrub in this transaction.
    -- The audit trail stays (who did what, when), without addresses and free text: the users' own rows, the
    -- rows about their accounts, and anonymous rows made from one of their addresses (p_ips). Free text is every
    -- key of v_free, and 'reason' (a block, a declined show, a cancelled goal, an ended stream or show, a
    -- deletion, the back office's act_as), except a fixed code (v_coded) and a staff member's reason for a
    -- decision about another account (a moderator's, admin's or compliance officer's at the time: sanctions, KYC,
    -- adjustments, unlocks), kept like the decision it explains (docs/compliance.md). The arrays are read
    -- through hashed subplans, so a restore with many erased users stays one pass over the month.
    UPDATE lp.audit_logs AS a
       SET ip_address = NULL,
           details = a.details - v_free
                     - CASE WHEN a.action = ANY (v_coded)
                              OR (coalesce(a.actor_role = ANY (v_staff), false)
                                  AND (a.target_type IS DISTINCT FROM 'user' OR a.target_id IS DISTINCT FROM a.actor_id::text))
                            THEN ARRAY[]::text[] ELSE ARRAY['reason'] END
     WHERE a.occurred_at >= p_from AND a.occurred_at < p_to
       AND (a.actor_id IN (SELECT u FROM unnest(p_users) AS u)
            OR (a.target_type = 'user' AND a.target_id IN (SELECT u::text FROM unnest(p_users) AS u))
            OR (a.actor_id IS NULL AND a.ip_address IN (SELECT i FROM unnest(p_ips) AS i)))
       AND (a.ip_address IS NOT NULL OR a.details ?| v_free
            OR (a.details ? 'reason'
                AND NOT (a.action = ANY (v_coded)
                         OR (coalesce(a.actor_role = ANY (v_staff), false)
                             AND (a.target_type IS DISTINCT FROM 'user' OR a.target_id IS DISTINCT FROM a.actor_id::text)))));
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- The mailer's errors about the users' e-mails (rows of api.mark_message_failed from before it stopped
    -- copying the error: an SMTP bounce quotes the recipient's address).
    UPDATE lp.audit_logs AS a SET details = a.details - 'error'
     WHERE a.occurred_at >= p_from AND a.occurred_at < p_to
       AND a.action = 'outbox.failed' AND a.target_type = 'message'
       AND a.details ->> 'user_id' IN (SELECT u::text FROM unnest(p_users) AS u)
       AND a.details ? 'error';
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_n + v_count;
END
$$;
COMMENT ON FUNCTION lp.scrub_audit_logs(uuid[], inet[], timestamptz, timestamptz) IS 'Owner only, the erasure''s scrub of the audit trail (the caller has called lp.begin_scrub): nulls the address and removes the free-text keys (user agents, e-mail addresses, names, messages, mailer errors, user-written reasons; fixed reason codes and a staff member''s reason about another account stay) of the audit rows of the erased users p_users (their own, those about their accounts, the anonymous ones from their addresses p_ips, the mailer''s errors about their e-mails) that occurred in [p_from, p_to). Called by lp.erase_personal_data (one user, the whole trail) and api.restore_partition (every erased user, the restored month). Returns the rows changed.';
REVOKE ALL ON FUNCTION lp.scrub_audit_logs(uuid[], inet[], timestamptz, timestamptz) FROM PUBLIC;
