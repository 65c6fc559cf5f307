CREATE FUNCTION lp.issue_sanction(
    p_user_id          uuid,
    p_type             text,
    p_reason           text,
    p_ends_at          timestamptz,
    p_report_id        uuid,
    p_issued_by        uuid,
    p_review_on_expiry boolean DEFAULT false,
    p_deleted_ok       boolean DEFAULT false
) RETURNS lp.user_sanctions
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason   text := lp.check_text(p_reason, 'reason', 1000, true);
    v_sanction lp.user_sanctions;
    v_sessions integer := 0;
    v_ended    integer := 0;
BEGIN
    -- The one way a sanction comes into being: api.sanction_user (a moderator or admin, whose role checks
    -- come first there) and the automated paths (review queue, fraud controls: p_issued_by NULL).
    PERFORM lp.check_sanction_arguments(p_user_id, p_type, p_ends_at, p_issued_by, p_review_on_expiry);
    -- A deleted account binds nothing a moderator decides, but the chargeback's reaction (p_deleted_ok) still
    -- holds it: a performer's payouts requested before the deletion are still approved and sent, and a case on
    -- the buyer must not fail because the buyer deleted the account (lp.fraud_on_chargeback).
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u
                    WHERE u.id = p_user_id AND (u.deleted_at IS NULL OR coalesce(p_deleted_ok, false))) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    -- On a shard of a sharded installation, a user of another shard is only a stub here: a sanction on it would
    -- bind nothing of theirs (their account, money and sessions live on their own shard). Refused, with a hint
    -- (api.sanction_user through the router goes to their shard). A single node has no stubs.
    IF EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP203', MESSAGE = 'this user lives on another shard',
            HINT = 'Sanction them with api.sanction_user through the router: it goes to their shard.';
    END IF;
    IF p_report_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = p_report_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'report not found';
    END IF;

    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, report_id, issued_by, ends_at, review_on_expiry)
    VALUES (p_user_id, p_type::lp.sanction_type, v_reason, p_report_id, p_issued_by, p_ends_at,
            coalesce(p_review_on_expiry, false))
    RETURNING * INTO v_sanction;
    IF p_type IN ('suspension', 'ban') THEN
        v_sessions := lp.revoke_sessions(p_user_id, 'sanction');
    END IF;
    -- Off camera now, in the same transaction (sessions first, then streams: the lock order of a host's own
    -- calls). A sanction that starts later is enforced by the viewer sweep (api.sweep_viewers).
    IF p_type IN ('suspension', 'ban', 'stream_block') AND lp.sanction_blocks(p_user_id, 'stream') THEN
        v_ended := lp.end_streams_of(p_user_id, format('performer %s', p_type));
    END IF;
    PERFORM lp.audit('sanction.issue', 'user', p_user_id::text,
                     jsonb_build_object('sanction_id', v_sanction.id, 'type', p_type, 'ends_at', p_ends_at,
                                        'automated', p_issued_by IS NULL, 'report_id', p_report_id,
                                        'review_on_expiry', v_sanction.review_on_expiry,
                                        'sessions_revoked', v_sessions, 'streams_ended', v_ended),
                     p_actor_id => p_issued_by);
    RETURN v_sanction;
END
$$;
COMMENT ON FUNCTION lp.issue_sanction(uuid, text, text, timestamptz, uuid, uuid, boolean, boolean) IS 'Owner only: issues a sanction of p_type to p_user_id (p_issued_by NULL: an automated sanction by the system, audited with no actor). Checks the arguments (LP018 bad type, a suspension without an end, an end in the past, review_on_expiry on anything but a suspension; LP002 the issuer themselves; LP003 unknown user, deleted user unless p_deleted_ok (the chargeback reaction), unknown report). A suspension or ban revokes the user''s sessions; a suspension, ban or stream_block ends the live streams the user is on camera in. Audited (sanction.issue). Callers check who may issue it (api.sanction_user).';
REVOKE ALL ON FUNCTION lp.issue_sanction(uuid, text, text, timestamptz, uuid, uuid, boolean, boolean) FROM PUBLIC;
