-- The hand-written routes of the router (docs/scale-out.md): registration and login (the directory), the
-- session check, the service's act_as, and the tip (same shard, or cross-shard through the outbox). Applied by
-- livepanty_db.shards after router.sql and the generated routes (which include the proxies router_proxy.tip and
-- router_proxy.act_as used below). Every call PL/Proxy cannot make (a shard down) raises LP200.

-- The proxies belong to the superuser (PL/Proxy is an untrusted language) and run as their caller: the
-- owner's api functions below.

CREATE FUNCTION router_proxy.register_user(
    p__shard integer, p_email text, p_username text, p_password text, p_date_of_birth date, p_role text,
    p_display_name text, p_country_code text, p_ip_address inet
) RETURNS api.user_account
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM api.register_user(p_email, p_username, p_password, p_date_of_birth, p_role, p_display_name,
                                    p_country_code, p_ip_address);
$$;

CREATE FUNCTION router_proxy.login(
    p__shard integer, p_login text, p_password text, p_ip_address inet, p_user_agent text, p_device_info jsonb,
    p_ttl interval
) RETURNS api.login_result
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM api.login(p_login, p_password, p_ip_address, p_user_agent, p_device_info, p_ttl);
$$;

CREATE FUNCTION router_proxy.authenticate(p__shard integer, p_token text) RETURNS api.authenticated
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM api.authenticate(p_token);
$$;

CREATE FUNCTION router_proxy.payee_check(
    p__shard integer, p_kind text, p_payer uuid, p_payee_id uuid, p_amount bigint, p_stream_id uuid,
    p_menu_item_id uuid
) RETURNS void
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.payee_check(p__shard, p_kind, p_payer, p_payee_id, p_amount, p_stream_id, p_menu_item_id);
$$;

CREATE FUNCTION router_proxy.tip_out(
    p__shard integer, p__user uuid, p__session uuid, p__via text, p_to_shard integer, p_recipient_id uuid,
    p_amount bigint, p_idempotency_key text, p_message text, p_is_anonymous boolean, p_stream_id uuid,
    p_menu_item_id uuid
) RETURNS TABLE (r_result lp.transfers_out, r_replayed text)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.tip_out(p__shard, p__user, p__session, p__via, p_to_shard, p_recipient_id, p_amount,
                                p_idempotency_key, p_message, p_is_anonymous, p_stream_id, p_menu_item_id);
$$;

CREATE FUNCTION router_proxy.place_hold_out(
    p__shard integer, p__user uuid, p__session uuid, p__via text, p_payee_id uuid, p_amount bigint,
    p_idempotency_key text, p_purpose text, p_expires_in interval, p_stream_id uuid
) RETURNS TABLE (r_result lp.holds, r_replayed text)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.place_hold_out(p__shard, p__user, p__session, p__via, p_payee_id, p_amount,
                                       p_idempotency_key, p_purpose, p_expires_in, p_stream_id);
$$;

CREATE FUNCTION router_proxy.capture_payee(
    p__shard integer, p__user uuid, p__session uuid, p__via text, p__role text, p_hold_id uuid
) RETURNS uuid
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.capture_payee(p__shard, p__user, p__session, p__via, p__role, p_hold_id);
$$;

CREATE FUNCTION router_proxy.payee_state_check(p__shard integer, p_payee_id uuid) RETURNS void
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.payee_state_check(p__shard, p_payee_id);
$$;

CREATE FUNCTION router_proxy.capture_out(
    p__shard integer, p__user uuid, p__session uuid, p__via text, p__role text, p_hold_id uuid, p_amount bigint,
    p_idempotency_key text
) RETURNS TABLE (r_result lp.hold_captures, r_replayed text)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.capture_out(p__shard, p__user, p__session, p__via, p__role, p_hold_id, p_amount,
                                    p_idempotency_key);
$$;

CREATE FUNCTION router_proxy.key_used(
    p__shard integer, p__user uuid, p__session uuid, p__via text, p__role text, p_kind text, p_hold_id uuid,
    p_key text
) RETURNS boolean
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.key_used(p__shard, p__user, p__session, p__via, p__role, p_kind, p_hold_id, p_key);
$$;

CREATE FUNCTION router_proxy.payee_holds_page(
    p_payee_id uuid, p_status text, p_after_created timestamptz, p_after_id uuid, p_limit integer
) RETURNS SETOF lp.holds
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.payee_holds_page(p_payee_id, p_status, p_after_created, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.case_decisions_about(p_user_id uuid, p_limit integer)
RETURNS TABLE (case_id uuid, target_type text, reason text, status text, action text, automated boolean, facts text,
               rule text, appeal text, sanction_id uuid, decided_at timestamptz)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.case_decisions_about(p_user_id, p_limit);
$$;

CREATE FUNCTION router_proxy.remote_case_sanctions(p__shard integer, p_user_id uuid)
RETURNS TABLE (case_id uuid, sanction_id uuid)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.remote_case_sanctions(p__shard, p_user_id);
$$;

CREATE FUNCTION router_proxy.payee_hold_key(p_hold_id uuid, p_payee_id uuid) RETURNS SETOF timestamptz
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.payee_hold_key(p_hold_id, p_payee_id);
$$;

CREATE FUNCTION router_proxy.locate(p_table text, p_id uuid) RETURNS SETOF integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.locate(p_table, p_id);
$$;

CREATE FUNCTION router_proxy.locate_on(p__shard integer, p_table text, p_id uuid) RETURNS SETOF integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.locate(p_table, p_id);
$$;

CREATE FUNCTION router_proxy.live_streams(
    p_category text, p_tag text, p_after_viewers integer, p_after_id uuid, p_limit integer
)
RETURNS TABLE (id uuid, host_id uuid, host_name text, title text, category text, tags text[], is_mature boolean,
               thumbnail_url text, started_at timestamptz, viewers integer)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.live_streams(p_category, p_tag, p_after_viewers, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.stream_wakeups(p__shard integer, p_after text)
RETURNS TABLE (next_position text, channel text, event_id bigint)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.stream_wakeups(p_after);
$$;

CREATE FUNCTION router_proxy.ensure_user(
    p__shard integer, p_user_id uuid, p_username text, p_role text, p_home_shard integer
) RETURNS void
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.ensure_user(p__shard, p_user_id, p_username, p_role, p_home_shard);
$$;

CREATE FUNCTION router_proxy.stub_role(p__shard integer, p_user_id uuid, p_role text) RETURNS boolean
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.stub_role(p__shard, p_user_id, p_role);
$$;

CREATE FUNCTION router_proxy.review_queue_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_overdue_only boolean, p_reason text,
    p_source text, p_after_rank smallint, p_after_score integer, p_after_due timestamptz, p_after_at timestamptz,
    p_after_id uuid, p_limit integer
) RETURNS TABLE (
    case_id uuid, source text, target_type text, reason text, status text, priority text, priority_score integer,
    reporter_count integer, flag_count integer, confidence numeric, reported_user_id uuid, stream_id uuid,
    tip_id uuid, assigned_to uuid, claim_expires_at timestamptz, due_at timestamptz, overdue boolean,
    escalated_at timestamptz, created_at timestamptz, detector_precision numeric
)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.review_queue_page(p__user, p__session, p__via, p_status, p_overdue_only, p_reason, p_source,
                                          p_after_rank, p_after_score, p_after_due, p_after_at, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.case_key(p__shard integer, p_case_id uuid)
RETURNS TABLE (priority_rank smallint, priority_score integer, due_at timestamptz, created_at timestamptz)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.case_key(p__shard, p_case_id);
$$;

CREATE FUNCTION router_proxy.claim_candidate(p__user uuid, p__session uuid, p__via text)
RETURNS TABLE (shard integer, priority_rank smallint, priority_score integer, due_at timestamptz,
               created_at timestamptz, case_id uuid)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.claim_candidate(p__user, p__session, p__via);
$$;

CREATE FUNCTION router_proxy.pending_kyc_page(
    p__user uuid, p__session uuid, p__via text, p_after_submitted timestamptz, p_after_id uuid, p_limit integer
) RETURNS SETOF lp.kyc_verifications
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.pending_kyc_page(p__user, p__session, p__via, p_after_submitted, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.holds_reset_token(p_token_hash bytea) RETURNS SETOF integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.holds_reset_token(p_token_hash);
$$;

CREATE FUNCTION router_proxy.holds_stream_key(p_key_hash bytea) RETURNS SETOF integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.holds_stream_key(p_key_hash);
$$;

CREATE FUNCTION router_proxy.holds_kyc_reference(p_provider text, p_reference text) RETURNS SETOF integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.holds_kyc_reference(p_provider, p_reference);
$$;

CREATE FUNCTION router_proxy.kyc_webhook_shards(p_provider text, p_event_id text, p_reference text)
RETURNS TABLE (shard integer, logged boolean)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.kyc_webhook_shards(p_provider, p_event_id, p_reference);
$$;

CREATE FUNCTION router_proxy.list_users_page(
    p__user uuid, p__session uuid, p__via text, p_role text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer, p_include_deleted boolean
) RETURNS SETOF api.user_account
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.list_users_page(p__user, p__session, p__via, p_role, p_after_created, p_after_id, p_limit,
                                        p_include_deleted);
$$;

CREATE FUNCTION router_proxy.cursor_time(p__shard integer, p_table text, p_id uuid) RETURNS timestamptz
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.cursor_time(p__shard, p_table, p_id);
$$;

CREATE FUNCTION router_proxy.payments_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer
) RETURNS SETOF lp.payments
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.payments_page(p__user, p__session, p__via, p_status, p_after_created, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.payouts_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer
) RETURNS SETOF lp.payouts
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON ALL;
    SELECT * FROM shard.payouts_page(p__user, p__session, p__via, p_status, p_after_created, p_after_id, p_limit);
$$;

CREATE FUNCTION router_proxy.remote_cast(p__shard integer, p_stream_id uuid, p_key_hash bytea)
RETURNS TABLE (user_id uuid, home_shard smallint)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.remote_cast(p__shard, p_stream_id, p_key_hash);
$$;

CREATE FUNCTION router_proxy.performer_gaps(p__shard integer, p_user_ids uuid[])
RETURNS TABLE (user_id uuid, gaps text[])
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.performer_gaps(p__shard, p_user_ids);
$$;

CREATE FUNCTION router_proxy.note_gates(p__shard integer, p_gates jsonb) RETURNS integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.note_gates(p__shard, p_gates);
$$;

CREATE FUNCTION router_proxy.transfer_in(
    p__shard integer, p_from_shard integer, p_id uuid, p_sender_id uuid, p_sender_name text, p_sender_role text,
    p_recipient_id uuid, p_tip_amount bigint, p_fee_amount bigint, p_message text, p_is_anonymous boolean,
    p_stream_id uuid, p_menu_item_id uuid, p_idempotency_key text, p_sent_at timestamptz, p_hold_id uuid,
    p_refund_of uuid
) RETURNS boolean
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.transfer_in_at_once(p__shard, p_from_shard, p_id, p_sender_id, p_sender_name, p_sender_role,
                                     p_recipient_id, p_tip_amount, p_fee_amount, p_message, p_is_anonymous,
                                     p_stream_id, p_menu_item_id, p_idempotency_key, p_sent_at, p_hold_id,
                                     p_refund_of);
$$;

CREATE FUNCTION router_proxy.mark_delivered(p__shard integer, p_ids uuid[]) RETURNS integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.mark_delivered_at_once(p__shard, p_ids);
$$;

CREATE FUNCTION router_proxy.capture_transfer(p__shard integer, p_hold_id uuid, p_transaction_id uuid)
RETURNS lp.transfers_out
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.capture_transfer(p__shard, p_hold_id, p_transaction_id);
$$;

CREATE FUNCTION router_proxy.sanction_request(p__shard integer, p_id uuid)
RETURNS TABLE (id uuid, to_shard smallint, user_id uuid, case_id uuid, sanction_type text, reason text,
               ends_at timestamptz, issued_by uuid, issuer_username text, issuer_role text, issuer_home smallint)
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT * FROM shard.sanction_request(p__shard, p_id);
$$;

CREATE FUNCTION router_proxy.apply_sanction_request(
    p__shard integer, p_from_shard integer, p_id uuid, p_user_id uuid, p_case_id uuid, p_type text, p_reason text,
    p_ends_at timestamptz, p_issued_by uuid, p_issuer_username text, p_issuer_role text, p_issuer_home integer
) RETURNS boolean
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.apply_sanction_request(p__shard, p_from_shard, p_id, p_user_id, p_case_id, p_type, p_reason,
                                        p_ends_at, p_issued_by, p_issuer_username, p_issuer_role, p_issuer_home);
$$;

CREATE FUNCTION router_proxy.close_sanction_requests(p__shard integer, p_ids uuid[], p_error text) RETURNS integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.close_sanction_requests(p__shard, p_ids, p_error);
$$;

CREATE FUNCTION router_proxy.forget_users(p__shard integer, p_user_ids uuid[]) RETURNS integer
    LANGUAGE plproxy
AS $$
    CLUSTER 'livepanty';
    RUN ON p__shard;
    SELECT shard.forget_users(p__shard, p_user_ids);
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA router_proxy FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA router_proxy TO livepanty_owner;

SET ROLE livepanty_owner;

-- Delivery at once (router.config.deliver_at_once; docs/scale-out.md, "Delivery at once"): after the sender's
-- shard committed a cross-shard tip, the router applies the credit on the performer's shard and marks the
-- outbox row delivered, as the relay would, each step its own transaction there. Exactly once as with the relay:
-- shard.transfer_in is keyed by the transfer id, so a relay that claimed the row meanwhile applies nothing
-- twice; mark_delivered marks only a pending row. Each waits at most 250 ms for a lock there (the _at_once
-- wrappers): a relay's batch holding the same rows gets them. Whatever fails here (a shard that stopped
-- answering, a refusal, a lock not had in time) is left to the relay: the tip is committed and the call returns
-- it all the same. A shard that hangs holds the call, as any call to it (docs/scale-out.md, "Fencing").
CREATE FUNCTION router.deliver_now(p_from integer, p_out lp.transfers_out) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_sender router.users;
BEGIN
    IF NOT router.deliver_at_once() OR p_out.id IS NULL OR p_out.status <> 'pending' THEN
        RETURN false;
    END IF;
    SELECT * INTO v_sender FROM router.users AS u WHERE u.user_id = p_out.sender_id;
    IF v_sender.username IS NULL OR v_sender.role IS NULL THEN
        RETURN false;  -- what the sender's stub carries is not known here: the relay reads it on their shard
    END IF;
    BEGIN
        PERFORM router_proxy.transfer_in(p_out.to_shard, p_from, p_out.id, p_out.sender_id, v_sender.username,
                                         v_sender.role, p_out.recipient_id, p_out.amount, p_out.fee_amount,
                                         p_out.message, p_out.is_anonymous, p_out.stream_id, p_out.menu_item_id,
                                         p_out.idempotency_key, p_out.created_at, p_out.hold_id, p_out.refund_of);
        PERFORM router_proxy.mark_delivered(p_from, ARRAY[p_out.id]);
    EXCEPTION WHEN OTHERS THEN
        RAISE LOG 'livepanty router: transfer % left to the relay: % %', p_out.id, SQLSTATE, left(SQLERRM, 500);
        RETURN false;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION router.deliver_now(integer, lp.transfers_out) IS 'With router.config.deliver_at_once: applies the pending cross-shard transfer p_out, sent from shard p_from, on its shard (shard.transfer_in) and marks it delivered there (shard.mark_delivered), as the relay would; true when both ran. Anything that fails is logged and left to the relay (false); so is a transfer that is not pending, or whose sender the directory knows no username or role of.';
REVOKE ALL ON FUNCTION router.deliver_now(integer, lp.transfers_out) FROM PUBLIC;

-- The same for a sanction decided on one shard for a user of another (docs/scale-out.md, "Cases about users of
-- other shards"): with delivery at once, api.resolve_case's route applies it on the user's shard before it
-- returns, as the relay would (keyed by the request's id), and marks the request delivered.
CREATE FUNCTION router.deliver_sanction_now(p_from integer, p_request_id uuid) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF p_request_id IS NULL OR NOT router.deliver_at_once() THEN
        RETURN false;
    END IF;
    BEGIN
        SELECT * INTO r FROM router_proxy.sanction_request(p_from, p_request_id);
        IF r.id IS NULL THEN
            RETURN false;  -- delivered already
        END IF;
        PERFORM router_proxy.apply_sanction_request(r.to_shard, p_from, r.id, r.user_id, r.case_id, r.sanction_type,
                                                    r.reason, r.ends_at, r.issued_by, r.issuer_username,
                                                    r.issuer_role, r.issuer_home);
        PERFORM router_proxy.close_sanction_requests(p_from, ARRAY[r.id], NULL);
    EXCEPTION WHEN OTHERS THEN
        RAISE LOG 'livepanty router: sanction request % left to the relay: % %', p_request_id, SQLSTATE,
            left(SQLERRM, 500);
        RETURN false;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION router.deliver_sanction_now(integer, uuid) IS 'With router.config.deliver_at_once: applies the pending sanction request p_request_id of shard p_from on its user''s shard (shard.apply_sanction_request, keyed by its id) and marks it delivered (shard.close_sanction_requests), as the relay would; true when both ran. Anything that fails is logged and left to the relay (false).';
REVOKE ALL ON FUNCTION router.deliver_sanction_now(integer, uuid) FROM PUBLIC;

-- An erasure through the router (api.erase_user, api.request_erasure, api.replay_erasure: an AFTER_CALL step, or
-- written into the route): the directory and the user's stubs elsewhere at once, as shards sync-erasures would.
CREATE FUNCTION router.erase_now(p_home integer, p_user_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stubs integer := 0;
BEGIN
    IF p_user_id IS NULL THEN
        RETURN 0;
    END IF;
    -- The directory with the caller's transaction (the erasure itself committed on the home shard already:
    -- whatever fails from here is logged and left to shards sync-erasures, never the caller's error).
    BEGIN
        PERFORM router.forget_users(ARRAY[p_user_id]);
    EXCEPTION WHEN OTHERS THEN
        RAISE LOG 'livepanty router: the directory entry of erased user % left to shards sync-erasures: % %',
            p_user_id, SQLSTATE, left(SQLERRM, 500);
    END;
    -- Each other shard on its own: one that cannot be reached (or refuses) is logged and skipped; shards
    -- sync-erasures carries every erasure there again when it next reaches it.
    FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
        CONTINUE WHEN v_shard = p_home;
        BEGIN
            v_stubs := v_stubs + router_proxy.forget_users(v_shard, ARRAY[p_user_id]);
        EXCEPTION WHEN OTHERS THEN
            RAISE LOG 'livepanty router: the stub of erased user % on shard % left to shards sync-erasures: % %',
                p_user_id, v_shard, SQLSTATE, left(SQLERRM, 500);
        END;
    END LOOP;
    RETURN v_stubs;
END
$$;
COMMENT ON FUNCTION router.erase_now(integer, uuid) IS 'After an erasure of p_user_id on their home shard p_home through the router: their directory entry takes the erasure''s pseudonym and their sessions go (router.forget_users, in the caller''s transaction), and their stubs on every other shard are erased (shard.forget_users, each shard on its own, committed there). A step that fails (a shard that cannot be reached or is fenced, a lock) is logged and left to livepanty-db shards sync-erasures; a shard that hangs unfenced holds the call, as any call to it does. Returns the stubs erased now.';
REVOKE ALL ON FUNCTION router.erase_now(integer, uuid) FROM PUBLIC;

-- A role changed through the router (api.set_user_role, an AFTER_CALL step of its route): the directory takes it,
-- and every stub of the user on another shard takes it at once (shard.stub_role), so a demoted moderator or
-- admin keeps no power on any shard, whether or not they act there again. router.stubs vouches only for the
-- stubs this reached: a shard out of reach (logged, skipped) stays marked (role NULL), and its stub is brought
-- up to date by router.ensure_user before the user's next call there.
CREATE FUNCTION router.role_changed(p_home integer, p_user_id uuid, p_role text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_n integer := 0;
BEGIN
    IF p_user_id IS NULL OR p_role IS NULL THEN
        RETURN 0;
    END IF;
    UPDATE router.users AS u SET role = p_role WHERE u.user_id = p_user_id AND u.role IS DISTINCT FROM p_role;
    INSERT INTO router.stubs (user_id, shard, role)
    SELECT p_user_id, k, NULL FROM generate_series(0, router.shard_count() - 1) AS k WHERE k <> p_home
    ON CONFLICT (user_id, shard) DO UPDATE SET role = NULL;
    FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
        CONTINUE WHEN v_shard = p_home;
        BEGIN
            IF router_proxy.stub_role(v_shard, p_user_id, p_role) THEN
                INSERT INTO router.stubs (user_id, shard, role) VALUES (p_user_id, v_shard, p_role)
                ON CONFLICT (user_id, shard) DO UPDATE SET role = excluded.role;
                v_n := v_n + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE LOG 'livepanty router: the stub of user % on shard % keeps its role until they act there: % %',
                p_user_id, v_shard, SQLSTATE, left(SQLERRM, 500);
        END;
    END LOOP;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION router.role_changed(integer, uuid, text) IS 'After api.set_user_role through the router (p_user_id of home shard p_home now has role p_role): the directory''s role, and every stub of the user on the other shards set to it (shard.stub_role, each shard on its own, recorded in router.stubs); a shard that cannot be reached is logged and skipped (marked in router.stubs, role NULL: router.ensure_user updates its stub before the user acts there, a cross-shard payee check included). Returns the stubs set now.';
REVOKE ALL ON FUNCTION router.role_changed(integer, uuid, text) FROM PUBLIC;

-- A provider reference names one person (api.submit_kyc refuses another user's; LP132): on one node it checks
-- every verification, here its own shard's. Before the user's shard takes a verification with a reference,
-- every shard is asked whether it holds it; another shard's is another user's (a user's verifications live on
-- their own shard). Two submissions of one reference at the same moment on two shards can both pass (no lock
-- spans the shards): the webhook then refuses the reference (LP132), so nothing is applied to the wrong person.
CREATE FUNCTION router.kyc_reference_free(p_shard integer, p_provider text, p_reference text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_provider  text := nullif(btrim(p_provider), '');
    v_reference text := nullif(btrim(p_reference), '');
    v_taken     boolean;
BEGIN
    IF v_provider IS NULL OR v_reference IS NULL THEN
        RETURN;  -- no reference: nothing to hold (the shard checks the arguments)
    END IF;
    BEGIN
        SELECT EXISTS (SELECT 1 FROM router_proxy.holds_kyc_reference(v_provider, v_reference) AS h (s)
                        WHERE h.s IS DISTINCT FROM p_shard)
          INTO v_taken;
    EXCEPTION WHEN OTHERS THEN
        IF router.lost(SQLSTATE, SQLERRM) THEN
            PERFORM router.unavailable(NULL, SQLERRM);  -- LP200 naming the shard that does not answer
        END IF;
        RAISE;
    END;
    IF v_taken THEN
        RAISE EXCEPTION USING ERRCODE = 'LP132', MESSAGE = 'the provider reference belongs to another verification',
            DETAIL = format('provider %s', v_provider),
            HINT = 'Submit the reference the provider gave for this user.';
    END IF;
END
$$;
COMMENT ON FUNCTION router.kyc_reference_free(integer, text, text) IS 'Before api.submit_kyc on the user''s shard p_shard: LP132 when another shard holds a verification with that provider and reference (another user''s), as one node refuses it; nothing when no reference is given. LP200 when a shard cannot be asked.';
REVOKE ALL ON FUNCTION router.kyc_reference_free(integer, text, text) FROM PUBLIC;

-- api.adjust_balance's idempotency key is one key space for every admin on one node (lp.adjustments'
-- unique key); through the router each call goes to its user's shard, so the key is claimed here first
-- (docs/scale-out.md, "One key space across shards").
CREATE FUNCTION router.claim_adjustment_key(
    p_shard   integer,
    p_actor   uuid,
    p_user_id uuid,
    p_amount  bigint,
    p_key     text
) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_key   text := nullif(btrim(p_key), '');
    v_shard smallint;
BEGIN
    IF v_key IS NULL OR char_length(v_key) > 128 THEN
        RETURN p_shard;  -- no key to claim: the shard refuses it (LP018)
    END IF;
    -- A concurrent call with the key waits here until this transaction ends: then it finds the claim, or
    -- (this call failed, its claim rolled back with it) claims the key itself.
    INSERT INTO router.adjustment_keys (idempotency_key, shard, user_id, amount)
    VALUES (v_key, p_shard, p_user_id, p_amount)
    ON CONFLICT (idempotency_key) DO NOTHING;
    IF FOUND THEN
        RETURN p_shard;
    END IF;
    SELECT a.shard INTO STRICT v_shard FROM router.adjustment_keys AS a WHERE a.idempotency_key = v_key;
    -- The shard that holds the key's adjustment answers: the same adjustment again, or LP106 for other
    -- arguments, in the single node's words (lp.replay_adjustment), after its own checks of the caller.
    PERFORM router.ensure_user(v_shard, p_actor);
    RETURN v_shard;
END
$$;
COMMENT ON FUNCTION router.claim_adjustment_key(integer, uuid, uuid, bigint, text) IS 'Before api.adjust_balance on shard p_shard (the named user''s): claims the idempotency key in router.adjustment_keys for that shard and returns it; a key already claimed returns the shard that holds its adjustment (the acting admin''s stub made there), which replays the call or refuses other arguments (LP106), as one node does for one key space. The claim is in the router''s transaction: an error of the call takes it back. A missing or too long key claims nothing (the shard refuses it).';
REVOKE ALL ON FUNCTION router.claim_adjustment_key(integer, uuid, uuid, bigint, text) FROM PUBLIC;

-- Co-performers of other shards (docs/scale-out.md): before a stream's shard applies the go-live gate, their
-- own shards are asked what they lack, and the answers are written on the stream's shard (lp.remote_gates).
CREATE FUNCTION router.refresh_gates(p_shard integer, p_stream_id uuid, p_key_hash bytea) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_shard integer;
    v_home  record;
    v_gates jsonb;
BEGIN
    IF p_shard IS NOT NULL AND p_stream_id IS NULL AND p_key_hash IS NULL THEN
        RETURN;  -- a call naming no stream (the shard answers it, LP003): nothing to ask anyone
    END IF;
    FOR v_shard IN SELECT k FROM generate_series(0, router.shard_count() - 1) AS k
                    WHERE p_shard IS NULL OR k = p_shard LOOP
        v_gates := '[]'::jsonb;
        FOR v_home IN SELECT c.home_shard, array_agg(c.user_id ORDER BY c.user_id) AS users
                        FROM router_proxy.remote_cast(v_shard, p_stream_id, p_key_hash) AS c
                       GROUP BY c.home_shard ORDER BY c.home_shard LOOP
            BEGIN
                v_gates := v_gates
                    || coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', g.user_id, 'gaps', g.gaps))
                                   FROM router_proxy.performer_gaps(v_home.home_shard, v_home.users) AS g),
                                '[]'::jsonb);
            EXCEPTION WHEN OTHERS THEN
                IF NOT router.lost(SQLSTATE, SQLERRM) THEN
                    RAISE;
                END IF;
                PERFORM router.unavailable(v_home.home_shard, SQLERRM);  -- LP200 naming the co-performer's shard
            END;
        END LOOP;
        IF jsonb_array_length(v_gates) > 0 THEN
            PERFORM router_proxy.note_gates(v_shard, v_gates);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION router.refresh_gates(integer, uuid, bytea) IS 'Before the go-live gate runs on a stream''s shard: asks the own shard of every co-performer who lives elsewhere what they lack to be on camera (shard.performer_gaps) and writes it on the stream''s shard (shard.note_gates, lp.remote_gates). For stream p_stream_id, or the stream of ingest key hash p_key_hash, on shard p_shard; with all three NULL, every live stream of every shard (the sweep); with a shard but no stream, nothing. A shard that cannot be reached fails the call (LP200): the gate is never applied on a guess.';
REVOKE ALL ON FUNCTION router.refresh_gates(integer, uuid, bytea) FROM PUBLIC;

-- The payee's checks of a cross-shard tip, hold or capture, on the payee's shard, and replays across shards
-- (docs/scale-out.md): one node answers a retry from its idempotency key before it checks the payee again.
-- Here the payee is checked first; when that check fails (the payee sanctioned since, their shard down, ...),
-- the payer's shard is asked whether the key was used there, and if so the route goes on to the payer's shard,
-- which answers the retry (or refuses other arguments, LP106).
CREATE FUNCTION router.check_payee(
    p_kind text, p_payee_shard integer, p_payee_id uuid, p_amount bigint, p_stream_id uuid, p_menu_item_id uuid,
    p_shard integer, p_user uuid, p_session uuid, p_via text, p_hold_id uuid, p_key text
) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_state  text;
    v_msg    text;
    v_detail text;
    v_hint   text;
    v_used   boolean;
BEGIN
    BEGIN
        IF p_kind = 'capture' THEN
            PERFORM router_proxy.payee_state_check(p_payee_shard, p_payee_id);
        ELSE
            -- shard.payee_check reads the payer's role from their stub there (staff see inactive menu items
            -- and every stream; no stub reads as a viewer): the stub is made current first when the payer is
            -- staff, or when a stub of theirs there may carry an outdated role (a role change not carried there,
            -- router.stubs role NULL). Not for every viewer: their concurrent first tips would wait for each
            -- other at router.stubs.
            IF EXISTS (SELECT 1 FROM router.users AS u
                        WHERE u.user_id = p_user
                          AND (u.role IN ('moderator', 'admin')
                               OR EXISTS (SELECT 1 FROM router.stubs AS s
                                           WHERE s.user_id = u.user_id AND s.shard = p_payee_shard
                                             AND s.role IS DISTINCT FROM u.role))) THEN
                PERFORM router.ensure_user(p_payee_shard, p_user);
            END IF;
            PERFORM router_proxy.payee_check(p_payee_shard, p_kind, p_user, p_payee_id, p_amount, p_stream_id,
                                             p_menu_item_id);
        END IF;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
                                v_hint = PG_EXCEPTION_HINT;
    END;
    BEGIN
        v_used := router_proxy.key_used(p_shard, p_user, p_session, p_via, router.caller_role(), p_kind, p_hold_id,
                                        p_key);
    EXCEPTION WHEN OTHERS THEN
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(p_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    IF NOT v_used THEN
        PERFORM router.reraise(p_payee_shard, v_state, v_msg, v_detail, v_hint);
    END IF;
END
$$;
COMMENT ON FUNCTION router.check_payee(text, integer, uuid, bigint, uuid, uuid, integer, uuid, uuid, text, uuid, text) IS 'The payee''s checks of a cross-shard tip or hold (p_kind tip, hold: shard.payee_check, after the payer''s stub there is made current, router.ensure_user, when they are staff or a stub of theirs there may carry an outdated role, router.stubs role NULL, since the check reads it) or capture (capture: shard.payee_state_check) on the payee''s shard p_payee_shard. When they fail (a refusal, or the shard unreachable): returns when the payer''s shard p_shard already holds the call keyed p_key (shard.key_used), so that the route goes on and the payer''s shard answers the retry as one node does; else raises the failure (router.reraise).';
REVOKE ALL ON FUNCTION router.check_payee(text, integer, uuid, bigint, uuid, uuid, integer, uuid, uuid, text, uuid, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION api.register_user(
    p_email         text,
    p_username      text,
    p_password      text,
    p_date_of_birth date,
    p_role          text DEFAULT 'viewer',
    p_display_name  text DEFAULT NULL,
    p_country_code  text DEFAULT NULL,
    p_ip_address    inet DEFAULT NULL
) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: placed by a hash of the username (router.place); the shard validates and registers, the directory
-- records where. A name or address the directory already holds is refused here with the shard's own codes.
DECLARE
    v_shard integer := router.place(coalesce(p_username, ''));
    v_user  api.user_account;
BEGIN
    PERFORM router.directory_check(p_email, p_username);
    BEGIN
        v_user := router_proxy.register_user(v_shard, p_email, p_username, p_password, p_date_of_birth, p_role,
                                             p_display_name, p_country_code, p_ip_address);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    PERFORM router.directory_add(v_user, v_shard);
    RETURN v_user;
END
$$;

CREATE OR REPLACE FUNCTION api.create_admin(
    p_email         text,
    p_username      text,
    p_password      text,
    p_date_of_birth date,
    p_display_name  text DEFAULT NULL
) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: an admin is placed, registered and recorded as any user (api.register_user above); the shard's
-- api.create_admin runs as the router's caller, so only the back office may create one, as on one node.
DECLARE
    v_shard integer := router.place(coalesce(p_username, ''));
    v_user  api.user_account;
BEGIN
    PERFORM router.directory_check(p_email, p_username);
    BEGIN
        v_user := router_proxy.create_admin(v_shard, api.current_user_id(), lp.current_session_id(),
                                            current_setting('lp.acting_via', true), router.caller_role(),
                                            p_email, p_username, p_password, p_date_of_birth, p_display_name);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    PERFORM router.directory_add(v_user, v_shard);
    RETURN v_user;
END
$$;

CREATE OR REPLACE FUNCTION api.login(
    p_login       text,
    p_password    text,
    p_ip_address  inet DEFAULT NULL,
    p_user_agent  text DEFAULT NULL,
    p_device_info jsonb DEFAULT '{}',
    p_ttl         interval DEFAULT NULL
) RETURNS api.login_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the directory finds the shard by username or by the address's hash; the shard checks the password
-- (failure counter, lockout, audit there) and opens the session; the router remembers the token's shard.
DECLARE
    v_login  text := lower(btrim(p_login));
    v_shard  integer;
    v_result api.login_result;
BEGIN
    SELECT u.shard INTO v_shard FROM router.users AS u
     WHERE CASE WHEN strpos(v_login, '@') > 0 THEN u.email_key = sha256(convert_to(v_login, 'UTF8'))
                ELSE u.username_key = v_login END;
    IF v_shard IS NULL THEN
        IF v_login IS NULL OR v_login = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'login is required';
        END IF;
        IF p_password IS NULL OR p_password = '' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'password is required';
        END IF;
        PERFORM lp.hash_password(left(p_password, 1024));  -- the same cost as a wrong password
        RETURN ROW(false, 'LP020', NULL, NULL, NULL, NULL)::api.login_result;
    END IF;
    BEGIN
        v_result := router_proxy.login(v_shard, p_login, p_password, p_ip_address, p_user_agent, p_device_info, p_ttl);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    IF v_result.success THEN
        INSERT INTO router.sessions (token_hash, user_id, shard, expires_at)
        VALUES (lp.hash_token(v_result.token), v_result.user_id, v_shard, v_result.expires_at);
        -- Each session made takes away up to two that expired (an hour ago: a clock a little behind on a shard
        -- changes nothing), so the map stays about as large as the sessions alive, with no job.
        DELETE FROM router.sessions AS s
         WHERE s.token_hash IN (SELECT x.token_hash FROM router.sessions AS x
                                 WHERE x.expires_at < now() - interval '1 hour'
                                 ORDER BY x.expires_at LIMIT 2
                                   FOR UPDATE SKIP LOCKED);
    END IF;
    RETURN v_result;
END
$$;

CREATE OR REPLACE FUNCTION api.authenticate(p_token text) RETURNS api.authenticated
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the token's shard checks it (revoked, expired, sanctions, last seen); the router proves the identity
-- for the rest of its own transaction, and passes it on to the shard with every routed call.
DECLARE
    v_shard integer;
    v_auth  api.authenticated;
BEGIN
    SELECT s.shard INTO v_shard FROM router.sessions AS s
     WHERE s.token_hash = lp.hash_token(p_token) AND s.expires_at > now();
    IF v_shard IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP023', MESSAGE = 'invalid or expired session', HINT = 'Log in again.';
    END IF;
    BEGIN
        v_auth := router_proxy.authenticate(v_shard, p_token);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    -- The home shard is the truth about the role: the directory follows it (stubs are refreshed from it).
    PERFORM router.note_role(v_auth.user_id, v_auth.role);
    PERFORM lp.set_identity(v_auth.user_id, v_auth.session_id, 'session');
    RETURN v_auth;
END
$$;

CREATE OR REPLACE FUNCTION api.act_as(p_user_id uuid, p_reason text) RETURNS api.authenticated
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the back office acts in a user's name on the user's shard (which checks the caller's role and audits
-- the reason); the router proves the same identity for its own transaction. A user the directory does not know
-- goes to shard 0, which refuses the caller or the unknown user in the single node's words (LP002, LP003).
DECLARE
    v_shard integer := coalesce((SELECT u.shard FROM router.users AS u WHERE u.user_id = p_user_id), 0);
    v_auth  api.authenticated;
BEGIN
    BEGIN
        v_auth := router_proxy.act_as(v_shard, NULL, NULL, NULL, router.caller_role(), p_user_id, p_reason);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    -- The user's role as their shard has it, as api.authenticate: a demoted moderator or admin acted for by the
    -- back office gets no stub with their old role on another shard.
    PERFORM router.note_role(v_auth.user_id, v_auth.role);
    PERFORM lp.set_identity(v_auth.user_id, NULL, 'service');
    RETURN v_auth;
END
$$;

CREATE OR REPLACE FUNCTION api.list_live_streams(
    p_category      text DEFAULT NULL,
    p_tag           text DEFAULT NULL,
    p_after_viewers integer DEFAULT NULL,
    p_after_id      uuid DEFAULT NULL,
    p_limit         integer DEFAULT 50
)
RETURNS TABLE (id uuid, host_id uuid, host_name text, title text, category text, tags text[], is_mature boolean,
               thumbnail_url text, started_at timestamptz, viewers integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: every shard's page after the same cursor, merged in the listing's order: the first p_limit rows of
-- the union are the first p_limit rows of the whole listing, so keyset paging works as on one node.
BEGIN
    PERFORM router.acting_user();
    RETURN QUERY
    SELECT l.* FROM router_proxy.live_streams(p_category, p_tag, p_after_viewers, p_after_id, p_limit) AS l
     ORDER BY l.viewers DESC, l.id DESC
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(NULL, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.wake_stream_listeners(p_after text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the notifier of every shard. A stream's events are written, and NOTIFYed at commit, on its shard,
-- where nobody listens: clients LISTEN on the router (their DSN). So each shard's wake-ups after its own
-- position (shard.stream_wakeups) are sent here, on the router, at this call's commit. The position is the
-- shards' positions in shard order, joined by ';' (NULL: every shard from now). A shard that does not answer
-- fails the call (LP200) and nothing moves: the next call goes on from the same position.
DECLARE
    v_count integer := router.shard_count();
    v_parts text[];
    v_out   text[] := ARRAY[]::text[];
    v_at    integer;
    v_wake  record;
    v_next  text;
BEGIN
    IF p_after IS NOT NULL THEN
        v_parts := string_to_array(p_after, ';');
        IF cardinality(v_parts) IS DISTINCT FROM v_count THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'malformed event position',
                DETAIL = format('a router''s position is one position per shard (%s), joined by semicolons', v_count);
        END IF;
    END IF;
    BEGIN
        FOR v_shard IN 0 .. v_count - 1 LOOP
            v_at := v_shard;
            v_next := NULL;
            FOR v_wake IN SELECT * FROM router_proxy.stream_wakeups(v_shard, v_parts[v_shard + 1]) LOOP
                v_next := v_wake.next_position;
                IF v_wake.channel IS NOT NULL THEN
                    PERFORM pg_notify(v_wake.channel, v_wake.event_id::text);
                END IF;
            END LOOP;
            v_out := v_out || v_next;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_at, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    RETURN array_to_string(v_out, ';');
END
$$;

CREATE OR REPLACE FUNCTION api.tip(
    p_recipient_id    uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_stream_id       uuid DEFAULT NULL,
    p_message         text DEFAULT NULL,
    p_is_anonymous    boolean DEFAULT false,
    p_menu_item_id    uuid DEFAULT NULL
) RETURNS lp.tips
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: a performer on the sender's shard (or a recipient the directory does not know: that shard refuses
-- it) is an ordinary api.tip there. Otherwise two single-shard transactions linked by a transfer id: the
-- performer's checks on their shard (shard.payee_check: payee, stream, menu item), then the debit, fee and
-- outbox row on the sender's (shard.tip_out); the relay credits the performer later, exactly once, and records
-- the tip there with its stream goal and event (docs/scale-out.md, "Cross-shard tips").
DECLARE
    v_user    uuid := router.acting_user();
    v_from    integer := router.shard_of(v_user);
    v_to      integer;
    v_at      integer;
    v_out     lp.transfers_out;
    v_tip     lp.tips;
    v_pair    record;
BEGIN
    SELECT u.shard INTO v_to FROM router.users AS u WHERE u.user_id = p_recipient_id;
    BEGIN
        IF v_to IS NULL OR v_to = v_from THEN
            v_at := v_from;
            SELECT * INTO v_pair
              FROM router_proxy.tip(v_from, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                    router.caller_role(), p_recipient_id, p_amount, p_idempotency_key, p_stream_id,
                                    p_message, p_is_anonymous, p_menu_item_id);
            PERFORM router.note_replay(v_pair.r_replayed);
            RETURN v_pair.r_result;
        END IF;
        v_at := v_to;
        PERFORM router.check_payee('tip', v_to, p_recipient_id, p_amount, p_stream_id, p_menu_item_id, v_from, v_user,
                                   lp.current_session_id(), current_setting('lp.acting_via', true), NULL,
                                   p_idempotency_key);
        v_at := v_from;
        SELECT * INTO v_pair
          FROM router_proxy.tip_out(v_from, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                    v_to, p_recipient_id, p_amount, p_idempotency_key, p_message, p_is_anonymous,
                                    p_stream_id, p_menu_item_id);
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_at, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    PERFORM router.note_replay(v_pair.r_replayed);
    v_out := v_pair.r_result;
    PERFORM router.deliver_now(v_from, v_out);
    v_tip.id := v_out.id;
    v_tip.sender_id := v_out.sender_id;
    v_tip.recipient_id := v_out.recipient_id;
    v_tip.amount := v_out.amount;
    v_tip.fee_amount := v_out.fee_amount;
    v_tip.message := v_out.message;
    v_tip.is_anonymous := v_out.is_anonymous;
    v_tip.stream_id := v_out.stream_id;
    v_tip.menu_item_id := v_out.menu_item_id;
    v_tip.status := 'completed';
    v_tip.transaction_id := v_out.transaction_id;
    v_tip.idempotency_key := v_out.idempotency_key;
    v_tip.created_at := v_out.created_at;
    RETURN v_tip;
END
$$;


-- Holds across shards (docs/scale-out.md, "Holds and captures across shards"). A hold lives on its holder's
-- shard, where the tokens it reserves are. For a payee of another shard: api.place_hold checks the payee and the
-- stream it names on their shard (shard.payee_check: who may be paid, the payee's live stream), makes their stub
-- on the holder's and places the hold there (shard.place_hold_out). api.capture_hold asks the
-- hold's shard who its payee is, once the caller may capture it (shard.capture_payee); a payee of another shard
-- is checked there (shard.payee_state_check) and paid through the outbox of cross-shard tips
-- (shard.capture_out): the relay credits them exactly once.

CREATE OR REPLACE FUNCTION api.place_hold(
    p_payee_id        uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_purpose         text DEFAULT 'private_show',
    p_expires_in      interval DEFAULT NULL,
    p_stream_id       uuid DEFAULT NULL
) RETURNS lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer := router.shard_of(v_user);
    v_to    integer;
    v_at    integer := v_shard;
    v_pair  record;
BEGIN
    SELECT u.shard INTO v_to FROM router.users AS u WHERE u.user_id = p_payee_id;
    BEGIN
        IF v_to IS NULL OR v_to = v_shard THEN
            SELECT * INTO v_pair
              FROM router_proxy.place_hold(v_shard, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                           router.caller_role(), p_payee_id, p_amount, p_idempotency_key, p_purpose,
                                           p_expires_in, p_stream_id);
        ELSE
            v_at := v_to;
            PERFORM router.check_payee('hold', v_to, p_payee_id, p_amount, p_stream_id, NULL, v_shard, v_user,
                                       lp.current_session_id(), current_setting('lp.acting_via', true), NULL,
                                       p_idempotency_key);
            v_at := v_shard;
            PERFORM router.ensure_user(v_shard, p_payee_id);  -- the payee's stub on the holder's shard
            SELECT * INTO v_pair
              FROM router_proxy.place_hold_out(v_shard, v_user, lp.current_session_id(),
                                               current_setting('lp.acting_via', true), p_payee_id, p_amount,
                                               p_idempotency_key, p_purpose, p_expires_in, p_stream_id);
        END IF;
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_at, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    PERFORM router.note_replay(v_pair.r_replayed);
    RETURN v_pair.r_result;
END
$$;

CREATE OR REPLACE FUNCTION api.capture_hold(
    p_hold_id         uuid,
    p_amount          bigint,
    p_idempotency_key text
) RETURNS lp.hold_captures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user  uuid := api.current_user_id();
    v_shard integer;
    v_at    integer;
    v_payee uuid;
    v_to    integer;
    v_pair  record;
BEGIN
    BEGIN
        v_shard := router.locate('holds', p_hold_id);
        v_at := v_shard;
        PERFORM router.ensure_user(v_shard, v_user);  -- the stub of a user of another shard
        v_payee := router_proxy.capture_payee(v_shard, v_user, lp.current_session_id(),
                                              current_setting('lp.acting_via', true), router.caller_role(), p_hold_id);
        SELECT u.shard INTO v_to FROM router.users AS u WHERE u.user_id = v_payee;
        IF v_to IS NULL OR v_to = v_shard THEN
            SELECT * INTO v_pair
              FROM router_proxy.capture_hold(v_shard, v_user, lp.current_session_id(),
                                             current_setting('lp.acting_via', true), router.caller_role(), p_hold_id,
                                             p_amount, p_idempotency_key);
        ELSE
            v_at := v_to;
            PERFORM router.check_payee('capture', v_to, v_payee, p_amount, NULL, NULL, v_shard, v_user,
                                       lp.current_session_id(), current_setting('lp.acting_via', true), p_hold_id,
                                       p_idempotency_key);
            v_at := v_shard;
            SELECT * INTO v_pair
              FROM router_proxy.capture_out(v_shard, v_user, lp.current_session_id(),
                                            current_setting('lp.acting_via', true), router.caller_role(), p_hold_id,
                                            p_amount, p_idempotency_key);
        END IF;
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_at, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    PERFORM router.note_replay(v_pair.r_replayed);
    IF v_to IS NOT NULL AND v_to <> v_shard AND router.deliver_at_once() THEN
        -- Delivery at once: the payee's part applied on their shard before the call returns, as for a tip (a
        -- retry of a capture still pending delivers it too). The capture is committed: what fails is logged and
        -- left to the relay.
        BEGIN
            PERFORM router.deliver_now(v_shard, router_proxy.capture_transfer(v_shard, p_hold_id,
                                                                              (v_pair.r_result).transaction_id));
        EXCEPTION WHEN OTHERS THEN
            RAISE LOG 'livepanty router: capture % of hold % left to the relay: % %',
                (v_pair.r_result).id, p_hold_id, SQLSTATE, left(SQLERRM, 500);
        END;
    END IF;
    RETURN v_pair.r_result;
END
$$;

-- The decisions about the acting user: their own shard's (which checks the session and the limit, as on one
-- node), and those of cases on other shards about their stub there (the message of a cross-shard tip reported on
-- the performer's shard; docs/scale-out.md, "Cases about users of other shards"), with the sanction their own
-- shard issued for such a case (its receipt); merged newest first.
CREATE OR REPLACE FUNCTION api.my_case_decisions(p_limit integer DEFAULT 50)
RETURNS TABLE (
    case_id     uuid,
    target_type text,
    reason      text,
    status      text,
    action      text,
    automated   boolean,
    facts       text,
    rule        text,
    appeal      text,
    sanction_id uuid,
    decided_at  timestamptz
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user   uuid := router.acting_user();
    v_shard  integer := router.shard_of(v_user);
    v_at     integer := v_shard;  -- the shard an error is reported for (NULL: any of them)
    v_own    jsonb;
    v_else   jsonb;
    v_issued jsonb;
BEGIN
    BEGIN
        -- The user's own shard first: it checks the session and the limit as on one node, before any other
        -- shard is asked.
        SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') INTO v_own
          FROM router_proxy.my_case_decisions(v_shard, v_user, lp.current_session_id(),
                                              current_setting('lp.acting_via', true), router.caller_role(),
                                              p_limit) AS d;
        v_at := NULL;
        SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') INTO v_else
          FROM router_proxy.case_decisions_about(v_user, p_limit) AS d;
        v_at := v_shard;
        SELECT coalesce(jsonb_object_agg(i.case_id, i.sanction_id), '{}') INTO v_issued
          FROM router_proxy.remote_case_sanctions(v_shard, v_user) AS i;
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_at, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
    RETURN QUERY
    SELECT d.case_id, d.target_type, d.reason, d.status, d.action, d.automated, d.facts, d.rule, d.appeal,
           coalesce(d.sanction_id, (v_issued ->> d.case_id::text)::uuid), d.decided_at
      FROM jsonb_to_recordset(v_own || v_else) AS d (
               case_id uuid, target_type text, reason text, status text, action text, automated boolean,
               facts text, rule text, appeal text, sanction_id uuid, decided_at timestamptz)
     ORDER BY d.decided_at DESC, d.case_id
     LIMIT p_limit;
END
$$;

-- A user's holds as payee: a hold lives on its holder's shard, so every shard's page after the same key is
-- merged here (the cursor's key read on the shard that holds it); as holder, the user's own shard.
CREATE OR REPLACE FUNCTION api.list_holds(
    p_as     text DEFAULT 'holder',
    p_status text DEFAULT NULL,
    p_after  uuid DEFAULT NULL,
    p_limit  integer DEFAULT 50
) RETURNS SETOF lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := router.acting_user();
    v_shard   integer := router.shard_of(v_user);
    v_created timestamptz;
BEGIN
    BEGIN
        IF p_as IS DISTINCT FROM 'payee' THEN
            RETURN QUERY SELECT * FROM router_proxy.list_holds(v_shard, v_user, lp.current_session_id(),
                                                               current_setting('lp.acting_via', true),
                                                               router.caller_role(), p_as, p_status, p_after, p_limit);
            RETURN;
        END IF;
        v_shard := NULL;
        IF p_status IS NOT NULL THEN
            PERFORM lp.check_choice(p_status, 'lp.hold_status', 'hold status');
        END IF;
        IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
        END IF;
        IF p_after IS NOT NULL THEN
            SELECT max(k) INTO v_created FROM router_proxy.payee_hold_key(p_after, v_user) AS k;
            IF v_created IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
            END IF;
        END IF;
        RETURN QUERY SELECT r.* FROM router_proxy.payee_holds_page(v_user, p_status, v_created, p_after, p_limit) AS r
                      ORDER BY r.created_at DESC, r.id DESC
                      LIMIT p_limit;
    EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
        DECLARE v_detail text; v_hint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
        END;
    END;
END
$$;

-- The admin queues (docs/scale-out.md, "Global reads"): every shard's page after the same key (RUN ON ALL),
-- merged here in the queue's order; the first p_limit rows of the union are the first p_limit rows of the whole
-- queue, so keyset paging works as on one node. The cursor's key is read on the shard that holds it; an unknown
-- cursor is passed on without a key, and every shard refuses it in its own words after its other checks.

CREATE OR REPLACE FUNCTION api.review_queue(
    p_status       text DEFAULT NULL,
    p_overdue_only boolean DEFAULT false,
    p_reason       text DEFAULT NULL,
    p_source       text DEFAULT NULL,
    p_after        uuid DEFAULT NULL,
    p_limit        integer DEFAULT 50
) RETURNS TABLE (
    case_id uuid, source text, target_type text, reason text, status text, priority text, priority_score integer,
    reporter_count integer, flag_count integer, confidence numeric, reported_user_id uuid, stream_id uuid,
    tip_id uuid, assigned_to uuid, claim_expires_at timestamptz, due_at timestamptz, overdue boolean,
    escalated_at timestamptz, created_at timestamptz, detector_precision numeric
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer;
    v_rank  smallint;
    v_score integer;
    v_due   timestamptz;
    v_at    timestamptz;
BEGIN
    PERFORM router.ensure_everywhere(v_user);
    IF p_after IS NOT NULL THEN
        v_shard := router.locate('reports', p_after);
        SELECT k.priority_rank, k.priority_score, k.due_at, k.created_at INTO v_rank, v_score, v_due, v_at
          FROM router_proxy.case_key(v_shard, p_after) AS k;
    END IF;
    v_shard := NULL;
    RETURN QUERY
    SELECT q.* FROM router_proxy.review_queue_page(v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                                   p_status, p_overdue_only, p_reason, p_source, v_rank, v_score,
                                                   v_due, v_at, p_after, p_limit) AS q
     ORDER BY CASE q.priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
              -q.priority_score, coalesce(q.due_at, 'infinity'), q.created_at, q.case_id
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.list_pending_kyc(p_after uuid DEFAULT NULL, p_limit integer DEFAULT 50)
RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user      uuid := router.acting_user();
    v_shard     integer;
    v_submitted timestamptz;
BEGIN
    PERFORM router.ensure_everywhere(v_user);
    IF p_after IS NOT NULL THEN
        v_shard := router.locate('kyc_verifications', p_after);
        v_submitted := router_proxy.cursor_time(v_shard, 'kyc_verifications', p_after);
    END IF;
    v_shard := NULL;
    RETURN QUERY
    SELECT k.* FROM router_proxy.pending_kyc_page(v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                                  v_submitted, p_after, p_limit) AS k
     ORDER BY k.submitted_at, k.id
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.claim_case() RETURNS SETOF lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Every shard names the case its api.claim_case would take (read only); the claim is made on the shard whose
-- case comes first in queue order, and on the next one if another moderator took it meanwhile. With no case
-- anywhere, the acting user's own shard answers (no row, or its refusal).
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer;
    v_case  record;
BEGIN
    PERFORM router.ensure_everywhere(v_user);
    FOR v_case IN
        SELECT c.* FROM router_proxy.claim_candidate(v_user, lp.current_session_id(),
                                                     current_setting('lp.acting_via', true)) AS c
         ORDER BY c.priority_rank, c.priority_score DESC, c.due_at NULLS LAST, c.created_at, c.case_id
    LOOP
        v_shard := v_case.shard;
        RETURN QUERY SELECT * FROM router_proxy.claim_case(v_shard, v_user, lp.current_session_id(),
                                                           current_setting('lp.acting_via', true),
                                                           router.caller_role());
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
    v_shard := router.shard_of(v_user);
    RETURN QUERY SELECT * FROM router_proxy.claim_case(v_shard, v_user, lp.current_session_id(),
                                                       current_setting('lp.acting_via', true), router.caller_role());
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;


CREATE OR REPLACE FUNCTION api.report(
    p_target_type text,
    p_target_id   uuid,
    p_reason      text,
    p_description text DEFAULT NULL
) RETURNS lp.report_filings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the report is filed where its target lives (a user or profile: the user's shard; a stream or a tip:
-- the shard that holds it), so that its case is reviewed and resolved there; the reporter gets a stub there. An
-- unknown user goes to the reporter's shard, an unknown stream or tip to shard 0: either answers "not found" in
-- its own words.
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer;
BEGIN
    v_shard := CASE WHEN p_target_type = 'stream' THEN router.locate('streams', p_target_id)
                    WHEN p_target_type = 'tip' THEN router.locate('tips', p_target_id)
                    ELSE router.shard_for(p_target_id, v_user) END;  -- a user, a profile (or a bad type)
    PERFORM router.ensure_user(v_shard, v_user);
    RETURN router_proxy.report(v_shard, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                               router.caller_role(), p_target_type, p_target_id, p_reason, p_description);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.raise_flag(
    p_detector     text,
    p_category     text,
    p_confidence   numeric,
    p_content_type text,
    p_content_ref  text DEFAULT NULL,
    p_stream_id    uuid DEFAULT NULL,
    p_user_id      uuid DEFAULT NULL,
    p_details      jsonb DEFAULT '{}'
) RETURNS lp.moderation_flags
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: a detector's flag goes where the stream lives, else where the user lives (their case, and a sanction
-- it may trigger, are that shard's).
DECLARE
    v_user  uuid := api.current_user_id();
    v_shard integer;
BEGIN
    v_shard := CASE WHEN p_stream_id IS NOT NULL THEN router.locate('streams', p_stream_id)
                    ELSE coalesce((SELECT u.shard FROM router.users AS u WHERE u.user_id = p_user_id), 0) END;
    PERFORM router.ensure_user(v_shard, v_user);
    RETURN router_proxy.raise_flag(v_shard, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                   router.caller_role(), p_detector, p_category, p_confidence, p_content_type,
                                   p_content_ref, p_stream_id, p_user_id, p_details);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.request_password_reset(p_email text, p_ip_address inet DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: to the shard of the address (its hash in the directory); an address nobody has goes to shard 0,
-- which answers as the owner's shard would (the same void, the same work: no hint whether it exists).
DECLARE
    v_shard integer;
BEGIN
    v_shard := coalesce((SELECT u.shard FROM router.users AS u
                          WHERE u.email_key = sha256(convert_to(lower(btrim(p_email)), 'UTF8'))), 0);
    PERFORM router_proxy.request_password_reset(v_shard, NULL, NULL, NULL, router.caller_role(), p_email,
                                                p_ip_address);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.reset_password(p_token text, p_new_password text, p_ip_address inet DEFAULT NULL)
RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the token does not say its shard; every shard is asked whether it holds the token's hash (never the
-- token), and the reset runs there. A token no shard holds goes to shard 0, which refuses it in its own words.
DECLARE
    v_shard integer;
BEGIN
    IF p_token IS NOT NULL AND char_length(p_token) = 43 THEN
        SELECT min(h.s) INTO v_shard FROM router_proxy.holds_reset_token(lp.hash_token(p_token)) AS h (s);
    END IF;
    v_shard := coalesce(v_shard, 0);
    RETURN router_proxy.reset_password(v_shard, NULL, NULL, NULL, router.caller_role(), p_token, p_new_password,
                                       p_ip_address);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.check_stream_key(p_stream_key text) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the ingest key does not say its shard; every shard is asked whether one of its live streams has the
-- key's hash (never the key), and the check runs there. A key no shard holds goes to shard 0, which refuses it
-- in its own words (LP122, without saying why).
DECLARE
    v_shard integer;
BEGIN
    IF p_stream_key IS NOT NULL AND char_length(p_stream_key) = 43 THEN
        SELECT min(h.s) INTO v_shard FROM router_proxy.holds_stream_key(lp.hash_token(p_stream_key)) AS h (s);
    END IF;
    v_shard := coalesce(v_shard, 0);
    IF p_stream_key IS NOT NULL AND char_length(p_stream_key) = 43 THEN
        -- Its co-performers of other shards, asked there first (the gate holds while the stream is live).
        PERFORM router.refresh_gates(v_shard, NULL, lp.hash_token(p_stream_key));
    END IF;
    RETURN router_proxy.check_stream_key(v_shard, NULL, NULL, NULL, router.caller_role(), p_stream_key);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.apply_kyc_webhook(
    p_provider               text,
    p_event_id               text,
    p_provider_reference     text,
    p_status                 text,
    p_score                  numeric DEFAULT NULL,
    p_reasons                text[] DEFAULT NULL,
    p_document_expires_on    date DEFAULT NULL,
    p_verified_date_of_birth date DEFAULT NULL,
    p_occurred_at            timestamptz DEFAULT NULL
) RETURNS lp.kyc_webhook_events
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the provider's event names its verification by the provider's reference, which does not say the
-- shard: every shard is asked at once whether its event log holds the event or it holds the reference (both
-- trimmed, as the shards store them). A shard that logged the event answers a repeat from its log, whatever
-- became of the reference since (destroyed records no longer hold it). Else the event goes to the shard holding
-- the reference. A reference no shard holds goes to shard 0, which refuses it in its own words (LP003, or the
-- checks of the arguments before). A reference that more than one shard holds names verifications of more than
-- one user: LP132, nothing applied anywhere, as one node refuses it (the router never guesses whose it is).
-- The event id is claimed on the router first (router.kyc_events, in this transaction): a delivery of an event
-- id another delivery claimed goes to that delivery's shard, which answers it from its log whatever reference
-- it names; a concurrent one waits for the claiming transaction to end (docs/scale-out.md, "One key space
-- across shards"). An error here or on the shard takes the claim back.
DECLARE
    v_provider text := btrim(p_provider);
    v_event_id text := btrim(p_event_id);
    v_shard    integer;
    v_shards   integer[];
    v_logged   integer[];
    v_claim    boolean := false;
    v_claimed  smallint;
BEGIN
    IF nullif(v_provider, '') IS NOT NULL AND nullif(v_event_id, '') IS NOT NULL THEN
        IF char_length(v_provider) <= 32 AND char_length(v_event_id) <= 200 THEN  -- else the shard refuses it
            INSERT INTO router.kyc_events (provider, event_id) VALUES (v_provider, v_event_id)
            ON CONFLICT (provider, event_id) DO NOTHING;
            v_claim := FOUND;
            IF NOT v_claim THEN
                SELECT e.shard INTO STRICT v_claimed
                  FROM router.kyc_events AS e WHERE e.provider = v_provider AND e.event_id = v_event_id;
            END IF;
        END IF;
        -- Asked after the claim: a delivery whose router transaction rolled back after its shard logged the
        -- event left no claim, but its shard's log is found here.
        IF v_claimed IS NULL THEN
            SELECT array_agg(DISTINCT h.shard ORDER BY h.shard) FILTER (WHERE h.logged),
                   array_agg(DISTINCT h.shard ORDER BY h.shard) FILTER (WHERE NOT h.logged)
              INTO v_logged, v_shards
              FROM router_proxy.kyc_webhook_shards(v_provider, v_event_id,
                                                   coalesce(btrim(p_provider_reference), '')) AS h;
        END IF;
    END IF;
    IF v_claimed IS NOT NULL THEN
        v_shards := ARRAY[v_claimed::integer];  -- the shard whose log holds the event
    ELSIF v_logged IS NOT NULL THEN
        v_shards := v_logged;  -- event ids are the provider's own: one shard logged it
    END IF;
    IF cardinality(v_shards) > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP132', MESSAGE = 'verifications of more than one user hold this provider reference',
            DETAIL = format('provider %s', v_provider),
            HINT = 'Nothing was applied: a compliance officer decides which verification the provider means.';
    END IF;
    v_shard := coalesce(v_shards[1], 0);
    IF v_claim THEN
        UPDATE router.kyc_events AS e SET shard = v_shard WHERE e.provider = v_provider AND e.event_id = v_event_id;
    END IF;
    RETURN router_proxy.apply_kyc_webhook(v_shard, NULL, NULL, NULL, router.caller_role(), p_provider, p_event_id,
                                          p_provider_reference, p_status, p_score, p_reasons, p_document_expires_on,
                                          p_verified_date_of_birth, p_occurred_at);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.replay_erasure(p_entry jsonb)
RETURNS TABLE (erasure_id uuid, user_id uuid, outcome text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
#variable_conflict use_column
-- Router: an exported erasure goes to its user's home shard (the directory), which re-applies it after a restore;
-- an entry whose user the directory does not know (or that is malformed) goes to shard 0, which answers in its
-- own words. The user's stubs on other shards and their directory entry are erased again at once
-- (router.erase_now), and by livepanty-db shards sync-erasures for a shard that cannot be reached now.
DECLARE
    v_shard integer;
    v_user  uuid;
BEGIN
    IF jsonb_typeof(p_entry) = 'object' AND jsonb_typeof(p_entry -> 'user_id') = 'string' THEN
        SELECT u.shard, u.user_id INTO v_shard, v_user
          FROM router.users AS u WHERE u.user_id = lp.as_uuid(p_entry ->> 'user_id');
    END IF;
    v_shard := coalesce(v_shard, 0);
    RETURN QUERY SELECT * FROM router_proxy.replay_erasure(v_shard, NULL, NULL, NULL, router.caller_role(), p_entry);
    PERFORM router.erase_now(v_shard, v_user);  -- (NULL: a user the directory does not know, nothing to carry)
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.find_user(p_login text) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: the directory finds the shard by username, or by the address's hash for a login with '@'; an unknown
-- login goes to the acting user's shard, which answers "not found" (or refuses the caller) in its own words.
DECLARE
    v_user  uuid := router.acting_user();
    v_login text := lower(btrim(coalesce(p_login, '')));
    v_shard integer;
BEGIN
    SELECT u.shard INTO v_shard FROM router.users AS u
     WHERE CASE WHEN strpos(v_login, '@') > 0 THEN u.email_key = sha256(convert_to(v_login, 'UTF8'))
                ELSE u.username_key = v_login END;
    v_shard := coalesce(v_shard, router.shard_of(v_user));
    PERFORM router.ensure_user(v_shard, v_user);
    RETURN router_proxy.find_user(v_shard, v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                  router.caller_role(), p_login);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.list_users(
    p_role            text DEFAULT NULL,
    p_after           uuid DEFAULT NULL,
    p_limit           integer DEFAULT 50,
    p_include_deleted boolean DEFAULT false
) RETURNS SETOF api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: every shard's page after the cursor's key (read on the cursor's shard, found in the directory),
-- merged in registration order (see "The admin queues" above).
DECLARE
    v_user    uuid := router.acting_user();
    v_shard   integer;
    v_created timestamptz;
BEGIN
    PERFORM router.ensure_everywhere(v_user);
    IF p_after IS NOT NULL THEN
        v_shard := (SELECT u.shard FROM router.users AS u WHERE u.user_id = p_after);
        IF v_shard IS NOT NULL THEN
            v_created := router_proxy.cursor_time(v_shard, 'users', p_after);
        END IF;
    END IF;
    v_shard := NULL;
    RETURN QUERY
    SELECT a.* FROM router_proxy.list_users_page(v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                                 p_role, v_created, p_after, p_limit, p_include_deleted) AS a
     ORDER BY a.created_at, a.id
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.list_payments(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: a user's own payments, or an admin's look at one user's, on that user's shard; an admin's look at
-- everyone's (no user named) merges every shard's page after the cursor's key (read on the shard holding the
-- cursor), newest first (see "The admin queues" above). The directory's role picks the way; the shards check it.
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer;
    v_key   timestamptz;
BEGIN
    IF p_user_id IS NOT NULL
       OR (SELECT u.role FROM router.users AS u WHERE u.user_id = v_user) IS DISTINCT FROM 'admin' THEN
        v_shard := router.shard_for(p_user_id, v_user);
        PERFORM router.ensure_user(v_shard, v_user);  -- an admin's stub on the named user's shard
        RETURN QUERY SELECT * FROM router_proxy.list_payments(v_shard, v_user, lp.current_session_id(),
            current_setting('lp.acting_via', true), router.caller_role(), p_user_id, p_status, p_after, p_limit);
        RETURN;
    END IF;
    PERFORM router.ensure_everywhere(v_user);
    IF p_after IS NOT NULL THEN
        v_shard := router.locate('payments', p_after);
        v_key := router_proxy.cursor_time(v_shard, 'payments', p_after);  -- NULL: no shard holds it, each says so (LP018)
    END IF;
    v_shard := NULL;
    RETURN QUERY
    SELECT r.* FROM router_proxy.payments_page(v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                             p_status, v_key, p_after, p_limit) AS r
     ORDER BY r.created_at DESC, r.id DESC
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.list_payouts(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Router: a user's own payouts, or an admin's look at one user's, on that user's shard; an admin's look at
-- everyone's (no user named) merges every shard's page after the cursor's key (read on the shard holding the
-- cursor), newest first (see "The admin queues" above). The directory's role picks the way; the shards check it.
DECLARE
    v_user  uuid := router.acting_user();
    v_shard integer;
    v_key   timestamptz;
BEGIN
    IF p_user_id IS NOT NULL
       OR (SELECT u.role FROM router.users AS u WHERE u.user_id = v_user) IS DISTINCT FROM 'admin' THEN
        v_shard := router.shard_for(p_user_id, v_user);
        PERFORM router.ensure_user(v_shard, v_user);  -- an admin's stub on the named user's shard
        RETURN QUERY SELECT * FROM router_proxy.list_payouts(v_shard, v_user, lp.current_session_id(),
            current_setting('lp.acting_via', true), router.caller_role(), p_user_id, p_status, p_after, p_limit);
        RETURN;
    END IF;
    PERFORM router.ensure_everywhere(v_user);
    IF p_after IS NOT NULL THEN
        v_shard := router.locate('payouts', p_after);
        v_key := router_proxy.cursor_time(v_shard, 'payouts', p_after);  -- NULL: no shard holds it, each says so (LP018)
    END IF;
    v_shard := NULL;
    RETURN QUERY
    SELECT r.* FROM router_proxy.payouts_page(v_user, lp.current_session_id(), current_setting('lp.acting_via', true),
                                             p_status, v_key, p_after, p_limit) AS r
     ORDER BY r.created_at DESC, r.id DESC
     LIMIT router.merge_limit(p_limit);
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

CREATE OR REPLACE FUNCTION api.tip_many(p_tips jsonb)
RETURNS TABLE (
    ordinal        integer,
    tip_id         uuid,
    sender_id      uuid,
    recipient_id   uuid,
    amount         bigint,
    fee_amount     bigint,
    transaction_id uuid,
    created_at     timestamptz,
    replayed       boolean,
    error_code     text,
    error_message  text
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
#variable_conflict use_column
-- Router: each tip goes with the others of its sender's shard (the shard of its session token; a token the
-- router does not know goes to shard 0, which refuses the tip in-band as its own), one api.tip_many per shard.
-- Then each tip whose recipient lives on another shard than its sender goes, in input order, the way of a
-- cross-shard api.tip: the session proven on the sender's shard, the performer's checks on theirs
-- (shard.payee_check), the debit, fee and outbox row on the sender's (shard.tip_out); a refusal there is that
-- tip's in-band result. (A malformed tip, or one whose amount no bigint holds, stays in its sender's batch,
-- which refuses it first of all.) The results come back in the input's order. Every shard's part commits on its
-- own: if a shard cannot be reached (LP200), what the others applied stands, and a retry with the same keys
-- replays it. A call that is not an array of 1 to 1000 tips goes to shard 0, which refuses it in its own words.
DECLARE
    v_shard  integer;
    v_rows   jsonb;
    v_across jsonb;
    v_auth   api.authenticated;
    v_pair   record;
    v_state  text;
    v_msg    text;
    v_detail text;
    v_hint   text;
    r        record;
BEGIN
    IF p_tips IS NULL OR jsonb_typeof(p_tips) <> 'array' OR jsonb_array_length(p_tips) NOT BETWEEN 1 AND 1000 THEN
        RETURN QUERY SELECT * FROM router_proxy.tip_many(0, NULL, NULL, NULL, router.caller_role(), p_tips);
        RETURN;
    END IF;
    WITH tips AS MATERIALIZED (
        SELECT e.k::integer AS k, e.j, se.shard AS sender_shard, se.user_id AS sender_id,
               (SELECT u.shard FROM router.users AS u
                 WHERE jsonb_typeof(e.j) = 'object' AND jsonb_typeof(e.j -> 'recipient_id') = 'string'
                   AND u.user_id = lp.as_uuid(e.j ->> 'recipient_id')) AS recipient_shard,
               lp.tip_item_malformed(e.j) AS malformed
          FROM jsonb_array_elements(p_tips) WITH ORDINALITY AS e (j, k)
          LEFT JOIN LATERAL (SELECT s.shard, s.user_id FROM router.sessions AS s
                              WHERE jsonb_typeof(e.j) = 'object' AND jsonb_typeof(e.j -> 'session_token') = 'string'
                                AND s.token_hash = lp.hash_token(e.j ->> 'session_token')
                                AND s.expires_at > now()) AS se ON true
    ), routed AS MATERIALIZED (
        SELECT t.k, t.j, t.sender_id, t.recipient_shard, coalesce(t.sender_shard, 0) AS shard,
               t.sender_shard IS NOT NULL AND t.recipient_shard IS NOT NULL AND t.recipient_shard <> t.sender_shard
               AND NOT t.malformed
               AND CASE WHEN NOT t.malformed THEN (t.j ->> 'amount')::numeric END
                   BETWEEN -9223372036854775808 AND 9223372036854775807 AS across
          FROM tips AS t
    ), batches AS (
        SELECT r.shard, array_agg(r.k ORDER BY r.k) AS ks, jsonb_agg(r.j ORDER BY r.k) AS batch
          FROM routed AS r WHERE NOT r.across
         GROUP BY r.shard
    ), results AS (
        SELECT b.ks[x.ordinal] AS ordinal, x.tip_id, x.sender_id, x.recipient_id, x.amount, x.fee_amount,
               x.transaction_id, x.created_at, x.replayed, x.error_code, x.error_message
          FROM batches AS b
         CROSS JOIN LATERAL router_proxy.tip_many(b.shard, NULL, NULL, NULL, router.caller_role(), b.batch) AS x
    )
    SELECT coalesce((SELECT jsonb_agg(to_jsonb(z)) FROM results AS z), '[]'::jsonb),
           (SELECT jsonb_agg(jsonb_build_object('k', r.k, 'j', r.j, 'sender', r.sender_id, 'from_shard', r.shard,
                                                'to_shard', r.recipient_shard) ORDER BY r.k)
              FROM routed AS r WHERE r.across)
      INTO v_rows, v_across;

    FOR r IN SELECT a.* FROM jsonb_to_recordset(coalesce(v_across, '[]'::jsonb))
                             AS a (k integer, j jsonb, sender uuid, from_shard integer, to_shard integer)
              ORDER BY a.k
    LOOP
        BEGIN
            v_shard := r.from_shard;
            v_auth := router_proxy.authenticate(r.from_shard, r.j ->> 'session_token');
            PERFORM router.note_role(v_auth.user_id, v_auth.role);  -- what a stub made by delivery at once carries
            v_shard := r.to_shard;
            PERFORM router.check_payee('tip', r.to_shard, (r.j ->> 'recipient_id')::uuid, (r.j ->> 'amount')::bigint,
                                       (r.j ->> 'stream_id')::uuid, (r.j ->> 'menu_item_id')::uuid, r.from_shard,
                                       v_auth.user_id, v_auth.session_id, 'session', NULL, r.j ->> 'idempotency_key');
            v_shard := r.from_shard;
            SELECT * INTO v_pair
              FROM router_proxy.tip_out(r.from_shard, v_auth.user_id, v_auth.session_id, 'session', r.to_shard,
                                        (r.j ->> 'recipient_id')::uuid, (r.j ->> 'amount')::bigint,
                                        r.j ->> 'idempotency_key', r.j ->> 'message',
                                        coalesce((r.j ->> 'is_anonymous')::boolean, false),
                                        (r.j ->> 'stream_id')::uuid, (r.j ->> 'menu_item_id')::uuid);
            PERFORM router.deliver_now(r.from_shard, v_pair.r_result);
            v_rows := v_rows || jsonb_build_object(
                'ordinal', r.k, 'tip_id', (v_pair.r_result).id, 'sender_id', (v_pair.r_result).sender_id,
                'recipient_id', (v_pair.r_result).recipient_id, 'amount', (v_pair.r_result).amount,
                'fee_amount', (v_pair.r_result).fee_amount, 'transaction_id', (v_pair.r_result).transaction_id,
                'created_at', (v_pair.r_result).created_at, 'replayed', v_pair.r_replayed IS NOT NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            -- A business refusal of this tip (a catalogued LP code of the shard) is its result; anything else, an
            -- unreachable shard (LP200) above all, is the whole call's error, as in a batch.
            IF v_state NOT LIKE 'LP%' OR v_state IN ('LP200', 'LP201', 'LP202') THEN
                PERFORM router.reraise(v_shard, v_state, v_msg, v_detail, v_hint);
            END IF;
            v_rows := v_rows || jsonb_build_object(
                'ordinal', r.k, 'sender_id', r.sender, 'recipient_id', (r.j ->> 'recipient_id')::uuid,
                'amount', (r.j ->> 'amount')::numeric, 'replayed', false, 'error_code', v_state,
                'error_message', router.shard_words(v_msg));
        END;
    END LOOP;

    RETURN QUERY
    SELECT z.ordinal, z.tip_id, z.sender_id, z.recipient_id, z.amount, z.fee_amount, z.transaction_id, z.created_at,
           z.replayed, z.error_code, z.error_message
      FROM jsonb_to_recordset(v_rows) AS z (ordinal integer, tip_id uuid, sender_id uuid, recipient_id uuid,
                                           amount bigint, fee_amount bigint, transaction_id uuid,
                                           created_at timestamptz, replayed boolean, error_code text,
                                           error_message text)
     ORDER BY z.ordinal;
EXCEPTION WHEN OTHERS THEN  -- router.reraise: LP200 for an unreachable shard, else the shard's error
    DECLARE v_detail text; v_hint text;
    BEGIN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        PERFORM router.reraise(v_shard, SQLSTATE, SQLERRM, v_detail, v_hint);
    END;
END
$$;

RESET ROLE;
