CREATE FUNCTION lp.erase_personal_data(p_user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_ips    inet[];
    v_hex    text := left(replace(p_user_id::text, '-', ''), 16);
    v_counts jsonb := '{}'::jsonb;
    v_n      integer;
    v_count  integer;
BEGIN
    -- Every row of personal data of the user, erased or pseudonymised; what stays (money, KYC and consent
    -- records, moderation decisions) refers to the user only by id, which nothing links to a person any more.
    -- Idempotent: running it again on an erased user changes nothing (api.replay_erasure relies on it).
    PERFORM lp.begin_scrub();
    -- The addresses the user was seen at, gathered before they are nulled below (to find the anonymous audit
    -- rows made from them: failed logins, reset requests).
    SELECT coalesce(array_agg(DISTINCT ip), '{}') INTO v_ips FROM (
        SELECT s.ip_address FROM lp.auth_sessions AS s WHERE s.user_id = p_user_id
        UNION ALL SELECT t.requested_ip FROM lp.password_reset_tokens AS t WHERE t.user_id = p_user_id
        UNION ALL SELECT v.ip_address FROM lp.stream_viewers AS v WHERE v.user_id = p_user_id
        UNION ALL SELECT c.ip_address FROM lp.stream_consents AS c WHERE c.performer_id = p_user_id
        UNION ALL SELECT a.ip_address FROM lp.audit_logs AS a WHERE a.actor_id = p_user_id
    ) AS seen (ip) WHERE ip IS NOT NULL;

    -- The account: contact data, profile, date of birth and password are replaced; the row stays for the
    -- financial records that reference it. The username and e-mail derive from the id (no new link).
    UPDATE lp.users AS u
       SET email = 'erased-' || v_hex || '@erased.invalid', username = 'erased_' || v_hex, display_name = NULL,
           bio = NULL, avatar_url = NULL, country_code = NULL, date_of_birth = DATE '1900-01-01',
           password_hash = crypt(encode(gen_random_bytes(32), 'base64'), gen_salt('bf', 4)),
           email_verified_at = NULL, last_login_at = NULL, locked_until = NULL, failed_login_count = 0,
           deleted_at = coalesce(u.deleted_at, now())
     WHERE u.id = p_user_id AND u.username::text <> 'erased_' || v_hex;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('account', v_n);

    DELETE FROM lp.user_preferences AS p WHERE p.user_id = p_user_id;
    INSERT INTO lp.user_preferences (user_id) VALUES (p_user_id);

    v_n := lp.revoke_sessions(p_user_id, 'user_deleted');
    UPDATE lp.auth_sessions AS s
       SET ip_address = NULL, user_agent = NULL, device_info = '{}',
           revoked_at = coalesce(s.revoked_at, now()), revoke_reason = coalesce(s.revoke_reason, 'user_deleted')
     WHERE s.user_id = p_user_id
       AND (s.ip_address IS NOT NULL OR s.user_agent IS NOT NULL OR s.device_info <> '{}' OR s.revoked_at IS NULL);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('sessions', v_n);

    DELETE FROM lp.password_reset_tokens AS t WHERE t.user_id = p_user_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('reset_tokens', v_n);
    DELETE FROM lp.outbox AS o WHERE o.user_id = p_user_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('emails', v_n);

    UPDATE lp.stream_viewers AS v SET ip_address = NULL WHERE v.user_id = p_user_id AND v.ip_address IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('viewer_ips', v_n);

    -- Consent records are kept (the record card networks require), without the user agent and with the
    -- address cut to its network (/24, /48): the old address is no longer there.
    UPDATE lp.stream_consents AS c
       SET ip_address = lp.ip_network(c.ip_address), user_agent = NULL
     WHERE c.performer_id = p_user_id AND (c.user_agent IS NOT NULL OR c.ip_address <> lp.ip_network(c.ip_address));
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('consent_addresses', v_n);

    -- The audit trail stays (who did what, when), without addresses and free text: the user's own rows, the
    -- rows about their account, anonymous rows made from one of their addresses, and the mailer's errors about
    -- their e-mails (lp.scrub_audit_logs, which api.restore_partition also applies to a month restored from an
    -- archive file).
    v_counts := v_counts || jsonb_build_object('audit_entries', lp.scrub_audit_logs(ARRAY[p_user_id], v_ips));

    -- Messages the user wrote: tip messages (and their copies in stream events, whatever the event: a plain tip's
    -- or a menu item's), report descriptions, appeal statements, block reasons; the content of their streams,
    -- goals and menu.
    UPDATE lp.stream_events AS e SET payload = e.payload - 'message'
      FROM lp.tips AS t
     WHERE t.sender_id = p_user_id AND t.stream_id IS NOT NULL
       AND e.stream_id = t.stream_id AND e.payload ->> 'tip_id' = t.id::text AND e.payload ->> 'message' IS NOT NULL;
    UPDATE lp.tips AS t SET message = NULL WHERE t.sender_id = p_user_id AND t.message IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('tip_messages', v_n);
    UPDATE lp.transfers_out AS o SET message = NULL WHERE o.sender_id = p_user_id AND o.message IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('transfer_messages', v_n);

    UPDATE lp.reports AS r SET description = NULL WHERE r.reporter_id = p_user_id AND r.description IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('report_descriptions', v_n);
    UPDATE lp.report_filings AS f SET description = NULL WHERE f.reporter_id = p_user_id AND f.description IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('report_filings', v_n);

    UPDATE lp.sanction_appeals AS a SET statement = 'erased' WHERE a.user_id = p_user_id AND a.statement <> 'erased';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('appeal_statements', v_n);

    UPDATE lp.performer_blocks AS b SET reason = NULL
     WHERE (b.performer_id = p_user_id OR b.blocked_id = p_user_id) AND b.reason IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('block_reasons', v_n);

    UPDATE lp.moderation_flags AS f SET content_ref = NULL WHERE f.user_id = p_user_id AND f.content_ref IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('flagged_content', v_n);

    -- Lock order: her streams' rows before their goals' rows (docs/ledger.md: the stream before its goals, as
    -- api.cancel_tip_goal, api.add_tip_goal and api.end_stream take them). The statements below change her goal
    -- rows before her stream rows; without this lock an api.cancel_tip_goal in flight on one of her goals (its
    -- stream FOR SHARE, then the goal) and this erasure (the goal, then the stream) could wait for each other.
    PERFORM 1 FROM lp.streams AS s WHERE s.host_id = p_user_id ORDER BY s.id FOR NO KEY UPDATE;
    -- Their content copied into their streams' events: goal descriptions, menu items bought ('item'), titles.
    UPDATE lp.stream_events AS e SET payload = e.payload - ARRAY['description', 'name', 'title', 'item']
      FROM lp.streams AS s
     WHERE s.host_id = p_user_id AND e.stream_id = s.id AND e.payload ?| ARRAY['description', 'name', 'title', 'item'];
    UPDATE lp.tip_goals AS g SET description = 'erased'
      FROM lp.streams AS s
     WHERE s.host_id = p_user_id AND g.stream_id = s.id AND g.description <> 'erased';
    UPDATE lp.tip_menu_items AS m SET name = 'erased ' || m.id::text, is_active = false
     WHERE m.performer_id = p_user_id AND m.name <> 'erased ' || m.id::text;
    -- The reasons she gave for ending her streams and shows and cancelling her goals: free text, public (the
    -- rows, and the stream_ended, show_ended and goal_cancelled events every viewer reads), gone. What stays: a
    -- staff member's reason (an admin ended or cancelled it, docs/compliance.md) and the fixed codes the system
    -- writes ('go-live gate', 'account erased', 'account deleted', 'stream ended', 'viewer blocked', ...). Who
    -- ended a stream is on its row (ended_by: host, admin or gate, lp.close_stream): its reason goes only when
    -- the host ended it. A stream ended before migration 0052 may not say (ended_by NULL: no event or audit row
    -- was left to tell): then its stream_ended event and its stream.end audit row, if still there, decide, and
    -- its reason stays only when one of them says an admin or the gate (they expire: events after
    -- events.retention_days, audit months when archived). A show says it (ended_by; the host's
    -- own fixed codes are those lp.close_stream and api.block_viewer write). A goal's close_reason is free text
    -- only when api.cancel_tip_goal cancelled it (the system's are 'stream ended' and 'deadline passed'); its
    -- row says who (closed_by: host, admin or system, lp.close_goal), and only the host's goes. A goal cancelled
    -- before migration 0052 may not say (closed_by NULL): then it is the host's doing unless its goal.cancel
    -- audit row, if still there, says an admin, and 'stream ended' stays.
    UPDATE lp.stream_events AS e SET payload = e.payload - 'reason'
      FROM lp.streams AS s
     WHERE s.host_id = p_user_id AND e.stream_id = s.id AND e.payload ? 'reason'
       AND CASE e.kind
               WHEN 'stream_ended' THEN coalesce(s.ended_by, e.payload ->> 'by', 'host') NOT IN ('admin', 'gate')
               WHEN 'show_ended' THEN coalesce(e.payload ->> 'ended_by', 'host') = 'host'
                                      AND e.payload ->> 'reason' IS DISTINCT FROM 'stream ended'
                                      AND e.payload ->> 'reason' IS DISTINCT FROM 'viewer blocked'
               WHEN 'goal_cancelled' THEN coalesce(
                   (SELECT g.closed_by FROM lp.tip_goals AS g
                     WHERE g.stream_id = e.stream_id AND g.id::text = e.payload ->> 'goal_id') = 'host',
                   NOT EXISTS (SELECT 1 FROM lp.audit_logs AS a
                                WHERE a.action = 'goal.cancel' AND a.target_type = 'tip_goal'
                                  AND a.target_id = e.payload ->> 'goal_id' AND a.details ->> 'by' = 'admin'))
               ELSE false
           END;
    UPDATE lp.streams AS s SET end_reason = NULL
     WHERE s.host_id = p_user_id AND s.end_reason IS NOT NULL
       AND CASE WHEN s.ended_by IS NOT NULL THEN s.ended_by = 'host'
                ELSE NOT EXISTS (SELECT 1 FROM lp.stream_events AS e
                                  WHERE e.stream_id = s.id AND e.kind = 'stream_ended'
                                    AND e.payload ->> 'by' IN ('admin', 'gate'))
                     AND NOT EXISTS (SELECT 1 FROM lp.audit_logs AS a
                                      WHERE a.action = 'stream.end' AND a.target_type = 'stream'
                                        AND a.target_id = s.id::text AND a.details ->> 'by' IN ('admin', 'gate'))
           END;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    UPDATE lp.shows AS w SET end_reason = NULL
     WHERE w.host_id = p_user_id AND w.end_reason IS NOT NULL AND coalesce(w.ended_by, 'host') = 'host'
       AND w.end_reason NOT IN ('stream ended', 'viewer blocked');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_n := v_n + v_count;
    UPDATE lp.tip_goals AS g SET close_reason = NULL
      FROM lp.streams AS s
     WHERE s.host_id = p_user_id AND g.stream_id = s.id
       AND g.status = 'cancelled' AND g.close_reason IS NOT NULL
       AND CASE WHEN g.closed_by IS NOT NULL THEN g.closed_by = 'host'
                ELSE g.close_reason <> 'stream ended'
                     AND NOT EXISTS (SELECT 1 FROM lp.audit_logs AS a
                                      WHERE a.action = 'goal.cancel' AND a.target_type = 'tip_goal'
                                        AND a.target_id = g.id::text AND a.details ->> 'by' = 'admin')
           END;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('end_reasons', v_n + v_count);
    -- Her streams: content erased, ingest key gone, the scheduled ones cancelled (the live ones were ended), by
    -- the system (ended_by gate, as lp.end_streams_of ends the live ones).
    UPDATE lp.streams AS s
       SET title = 'erased', description = NULL, thumbnail_url = NULL, tags = '{}', category = 'general',
           stream_key_hash = NULL,
           status = CASE WHEN s.status = 'scheduled' THEN 'cancelled'::lp.stream_status ELSE s.status END,
           ended_by = CASE WHEN s.status = 'scheduled' THEN 'gate' ELSE s.ended_by END
     WHERE s.host_id = p_user_id
       AND (s.title <> 'erased' OR s.description IS NOT NULL OR s.thumbnail_url IS NOT NULL OR s.tags <> '{}'
            OR s.category <> 'general' OR s.stream_key_hash IS NOT NULL OR s.status = 'scheduled');
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('streams', v_n);
    -- Her open identity verifications end: nothing decides them, or writes into their record, after the erasure.
    v_counts := v_counts || jsonb_build_object('kyc_abandoned', lp.abandon_open_kyc(p_user_id));
    PERFORM set_config('lp.scrub', '', true);  -- the rest of the transaction is append-only again
    RETURN v_counts;
END
$$;
COMMENT ON FUNCTION lp.erase_personal_data(uuid) IS 'Owner only: erases or pseudonymises every row of personal data of a user (account contact and profile data, date of birth, password, preferences, sessions with their IPs and devices, reset tokens, e-mails, viewer IPs, consent IPs cut to their network, audit addresses and free text (user-written reasons and mailer errors included; a staff member''s reason for a decision about another account and fixed reason codes stay), tip messages (also in menu-item tip events), report descriptions, block reasons, flagged content references, their streams'' titles, tags, categories (back to general), goals and menu, their open identity verifications (abandoned: lp.abandon_open_kyc), also where their events copy them, and the reasons they gave for ending their streams and shows and cancelling their goals, in the rows and their events (an admin''s reason and the system''s fixed codes stay)); financial, KYC, consent and moderation records stay, linked only to the id. Returns row counts per category. Idempotent.';
REVOKE ALL ON FUNCTION lp.erase_personal_data(uuid) FROM PUBLIC;
