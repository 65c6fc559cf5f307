-- The shard side of a sharded installation (docs/scale-out.md): applied to every shard database after its
-- migrations and repeatables by livepanty_db.shards (as the superuser), again on every migrate. The router
-- reaches these functions through PL/Proxy as the login role livepanty_router, and only that role may run them.
-- livepanty_db.shards adds, after this file, one generated wrapper shard.<name> per routed api function
-- (shard.act, then the api function).
CREATE SCHEMA IF NOT EXISTS shard AUTHORIZATION livepanty_owner;
REVOKE ALL ON SCHEMA shard FROM PUBLIC;
GRANT USAGE ON SCHEMA shard TO livepanty_router;

-- Repeatable: every function of the schema goes first.
DO $drop$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'shard'::regnamespace LOOP
        EXECUTE format('DROP FUNCTION %s', f);
    END LOOP;
END
$drop$;

SET ROLE livepanty_owner;

CREATE FUNCTION shard.configure(p_shard integer, p_shard_count integer) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Which shard this database is, and an in-transit wallet (16 credit shards, like the fee wallet) per peer shard.
BEGIN
    IF p_shard IS NULL OR p_shard_count IS NULL OR p_shard < 0 OR p_shard >= p_shard_count THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'shard number out of range',
            DETAIL = format('shard %s of %s', p_shard, p_shard_count);
    END IF;
    IF EXISTS (SELECT 1 FROM lp.shard_self AS s WHERE s.shard <> p_shard OR s.shard_count > p_shard_count) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'this database is another shard already',
            DETAIL = (SELECT format('shard %s of %s', s.shard, s.shard_count) FROM lp.shard_self AS s);
    END IF;
    INSERT INTO lp.shard_self (shard, shard_count) VALUES (p_shard, p_shard_count)
    ON CONFLICT (only_row) DO UPDATE SET shard_count = excluded.shard_count;
    INSERT INTO lp.wallets (kind, system_code, shard_count)
    SELECT 'system', 'transit_' || k, 16
      FROM generate_series(0, p_shard_count - 1) AS k
     WHERE k <> p_shard
    ON CONFLICT (system_code) DO NOTHING;
    INSERT INTO lp.wallet_shards (wallet_id, shard)
    SELECT w.id, s FROM lp.wallets AS w CROSS JOIN LATERAL generate_series(1, w.shard_count) AS s
     WHERE w.system_code LIKE 'transit\_%'
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION shard.configure(integer, integer) IS 'Makes this database shard p_shard of p_shard_count (lp.shard_self) and creates the in-transit wallet transit_<k> of every peer shard k. The number of shards may grow, never the shard change (LP201). Run by livepanty_db.shards.';
REVOKE ALL ON FUNCTION shard.configure(integer, integer) FROM PUBLIC;

CREATE FUNCTION shard.self() RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT s.shard::integer FROM lp.shard_self AS s
$$;
COMMENT ON FUNCTION shard.self() IS 'This shard''s number (NULL in a database that is no shard): the tag of the rows a routed view returns.';
REVOKE ALL ON FUNCTION shard.self() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.self() TO livepanty_router;

CREATE FUNCTION shard.here(p_shard integer) RETURNS smallint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_self lp.shard_self;
BEGIN
    SELECT * INTO v_self FROM lp.shard_self;
    IF v_self.shard IS NULL OR v_self.shard IS DISTINCT FROM p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'the call was routed to another shard',
            DETAIL = format('meant for shard %s; this is shard %s', p_shard, coalesce(v_self.shard::text, 'none'));
    END IF;
    RETURN v_self.shard_count;
END
$$;
COMMENT ON FUNCTION shard.here(integer) IS 'Refuses (LP201) a call meant for another shard, or reaching a database that is no shard; returns the number of shards.';
REVOKE ALL ON FUNCTION shard.here(integer) FROM PUBLIC;

CREATE FUNCTION shard.act(p_shard integer, p_user_id uuid, p_session_id uuid, p_via text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The router proved the user (api.authenticate, routed to this shard, or api.act_as) in its own transaction;
-- the identity it passes is made this transaction's proven identity, for a user who lives here.
BEGIN
    IF p_shard IS DISTINCT FROM -1 THEN  -- -1: a call the router sends to every shard (RUN ON ALL)
        PERFORM shard.here(p_shard);
    END IF;
    IF p_user_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'the acting user does not live on this shard',
                DETAIL = format('user %s, shard %s', p_user_id, p_shard);
        END IF;
        PERFORM lp.set_identity(p_user_id, p_session_id, p_via);
    END IF;
END
$$;
COMMENT ON FUNCTION shard.act(integer, uuid, uuid, text) IS 'Start of every routed call: the shard check (shard.here; p_shard -1 for a call sent to every shard), then the identity the router proved (lp.set_identity) when a user acts. LP201 for a user who does not live here.';
REVOKE ALL ON FUNCTION shard.act(integer, uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.act(integer, uuid, uuid, text) TO livepanty_router;

CREATE FUNCTION shard.act_as_role(p_role text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The router's caller was the application (livepanty_app), the back office (livepanty_service) or the mailer
-- (livepanty_mailer): the rest of
-- this transaction runs as that role, so the api function sees the same caller as on a single node
-- (lp.verify_authorize and friends read the role setting). Not SECURITY DEFINER: a role is set for the
-- router's own login, which is a member of both.
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('livepanty_app', 'livepanty_service', 'livepanty_mailer') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'the caller role must be livepanty_app, livepanty_service or livepanty_mailer';
    END IF;
    PERFORM pg_catalog.set_config('role', p_role, true);
END
$$;
COMMENT ON FUNCTION shard.act_as_role(text) IS 'Makes the rest of the routed call run as livepanty_app, livepanty_service or livepanty_mailer, the role of the router''s caller (LP018 for any other).';
REVOKE ALL ON FUNCTION shard.act_as_role(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.act_as_role(text) TO livepanty_router;

CREATE FUNCTION shard.payee_check(
    p_shard        integer,
    p_kind         text,
    p_payer        uuid,
    p_payee_id     uuid,
    p_amount       bigint,
    p_stream_id    uuid,
    p_menu_item_id uuid
) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The performer's half of the checks of a cross-shard tip (p_kind 'tip') or hold ('hold'), made before the
-- payer's shard debits or reserves: who may be paid (lp.payee_refusal's one rule), the stream and the menu item
-- as api.tip and api.place_hold check them, raising what they raise. A tip toward a stream whose active goal
-- refunds when missed goes on: the credit waits in this shard's goal escrow (shard.transfer_in). A hold counts
-- toward no goal and names no menu item.
DECLARE
    c record;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_kind IS DISTINCT FROM 'tip' AND (p_kind IS DISTINCT FROM 'hold' OR p_menu_item_id IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a payee check',
            DETAIL = format('kind %s', p_kind);
    END IF;
    SELECT lp.payee_refusal(p_payer, p_payee_id, u.id IS NOT NULL, u.role, lp.sanctioned(u.id),
                            EXISTS (SELECT 1 FROM lp.performer_blocks AS b
                                     WHERE b.performer_id = u.id AND b.blocked_id = p_payer),
                            lp.kyc_refusal_from(u.kyc_valid_until)) AS refusal,
           st.id AS stream, st.host_id, st.status AS stream_status,
           m.id AS item, m.performer_id AS item_performer, m.price AS item_price, m.is_active AS item_active,
           m.name AS item_name
      INTO c
      FROM (SELECT 1) AS one
      LEFT JOIN lp.users AS u ON u.id = p_payee_id AND u.deleted_at IS NULL
      -- a stream the payer may not see is not found (LP003: lp.stream_visible's rule, as api.tip applies it;
      -- the payer's stub here carries their role, which the router keeps)
      LEFT JOIN lp.streams AS st ON st.id = p_stream_id AND st.deleted_at IS NULL
            AND (st.visibility = 'public' OR st.host_id = p_payer
                 OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                             WHERE sp.stream_id = st.id AND sp.performer_id = p_payer)
                 OR EXISTS (SELECT 1 FROM lp.users AS pu
                             WHERE pu.id = p_payer AND pu.role IN ('moderator', 'admin')))
      -- an inactive item is not found (LP003) but by its performer and staff (api.tip's rule)
      LEFT JOIN lp.tip_menu_items AS m ON m.id = p_menu_item_id
            AND (m.is_active OR m.performer_id = p_payer
                 OR EXISTS (SELECT 1 FROM lp.users AS mu
                             WHERE mu.id = p_payer AND mu.role IN ('moderator', 'admin')));
    IF c.refusal IS NOT NULL THEN
        PERFORM lp.refuse_payee(c.refusal);
    END IF;
    IF p_stream_id IS NOT NULL THEN
        IF c.stream IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
        END IF;
        IF c.host_id <> p_payee_id OR c.stream_status <> 'live' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP104',
                MESSAGE = format('the stream is not the %s''s live stream',
                                 CASE p_kind WHEN 'tip' THEN 'recipient' ELSE 'payee' END),
                DETAIL = format('stream status %s', c.stream_status);
        END IF;
    END IF;
    IF p_menu_item_id IS NOT NULL THEN
        IF c.item IS NULL OR c.item_performer <> p_payee_id THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'menu item not found';
        END IF;
        IF NOT c.item_active THEN
            RAISE EXCEPTION USING ERRCODE = 'LP126', MESSAGE = 'the menu item is not available';
        END IF;
        IF p_amount IS DISTINCT FROM c.item_price THEN
            RAISE EXCEPTION USING ERRCODE = 'LP127', MESSAGE = 'a menu item is paid at its price',
                DETAIL = format('%s costs %s tokens', c.item_name, c.item_price);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION shard.payee_check(integer, text, uuid, uuid, bigint, uuid, uuid) IS 'The payee''s half of the checks of a cross-shard tip (p_kind tip) or hold (hold), on the payee''s shard before the payer''s shard debits or reserves: lp.payee_refusal (LP003, LP102, LP108, LP135, LP124), the stream (LP003, LP104) and a tip''s menu item (LP003, LP126 to staff, LP127), raised as api.tip and api.place_hold raise them. LP201 for another kind, or a hold with a menu item.';
REVOKE ALL ON FUNCTION shard.payee_check(integer, text, uuid, uuid, bigint, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payee_check(integer, text, uuid, uuid, bigint, uuid, uuid) TO livepanty_router;

CREATE FUNCTION shard.tip_out(
    p_shard           integer,
    p_user_id         uuid,
    p_session_id      uuid,
    p_via             text,
    p_to_shard        integer,
    p_recipient_id    uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_message         text,
    p_is_anonymous    boolean,
    p_stream_id       uuid,
    p_menu_item_id    uuid
) RETURNS TABLE (r_result lp.transfers_out, r_replayed text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The sender's half of a cross-shard tip: the same checks as api.tip for the sender, the debit, the fee and
-- the outbox row in one transaction (docs/scale-out.md, "Cross-shard tips"). One row: the transfer, and the
-- replay note (lp.note_replay) when a retry was answered from its key, which the router notes again. A tip whose
-- fee is the whole amount travels too (0 tokens in transit): on the performer's shard it is still a tip.
DECLARE
    v_count   smallint := shard.here(p_shard);
    v_sender  uuid;
    v_message text := lp.check_text(p_message, 'message', 500);
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_row     lp.transfers_out;
    v_fee     bigint;
    v_tx      uuid := lp.uuid_v7();
    v_id      uuid := lp.uuid_v7();
BEGIN
    PERFORM shard.act(p_shard, p_user_id, p_session_id, p_via);
    v_sender := lp.require_user();
    IF p_to_shard IS NULL OR p_to_shard < 0 OR p_to_shard >= v_count OR p_to_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a peer shard',
            DETAIL = format('shard %s of %s, from shard %s', p_to_shard, v_count, p_shard);
    END IF;

    -- A retry with the same key returns the original transfer; the key of a same-shard tip is refused (LP106).
    SELECT * INTO v_row FROM lp.transfers_out AS t
     WHERE t.sender_id = v_sender AND t.idempotency_key = v_key AND t.hold_id IS NULL
       AND t.refund_of IS NULL;
    IF v_row.id IS NULL
       AND EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.sender_id = v_sender AND t.idempotency_key = v_key) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip';
    END IF;
    IF v_row.id IS NULL THEN
        PERFORM lp.check_tokens(p_amount, 'tip amount');
        IF p_amount < (lp.setting('tips.min_tokens'))::bigint OR p_amount > (lp.setting('tips.max_tokens'))::bigint THEN
            RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'tip amount out of range',
                DETAIL = format('between %s and %s tokens', lp.setting('tips.min_tokens'), lp.setting('tips.max_tokens'));
        END IF;
        PERFORM lp.assert_sanction_allows(v_sender, VARIADIC CASE WHEN v_message IS NULL THEN ARRAY['tip']
                                                              ELSE ARRAY['tip', 'message'] END);
        PERFORM lp.count_spend(v_sender, 'tip', p_amount, v_key, true);
        v_fee := lp.fee_for(p_amount);
        INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount, message,
                                      is_anonymous, stream_id, menu_item_id, idempotency_key, transaction_id, status,
                                      delivered_at)
        VALUES (v_id, v_sender, p_recipient_id, p_to_shard, p_amount, v_fee, v_message,
                coalesce(p_is_anonymous, false), p_stream_id, p_menu_item_id, v_key, v_tx, 'pending', NULL)
        ON CONFLICT (sender_id, idempotency_key) WHERE hold_id IS NULL AND refund_of IS NULL DO NOTHING
        RETURNING * INTO v_row;
        IF v_row.id IS NOT NULL THEN
            -- After the claim, as in api.tip: a concurrent retry of this very tip waits instead of counting.
            IF EXISTS (SELECT 1 FROM lp.spending_limits AS l WHERE l.user_id = v_sender
                          AND (l.limit_tokens IS NOT NULL OR l.pending_limit_tokens IS NOT NULL)) THEN
                PERFORM lp.check_spending_limit(v_sender, p_amount);
            END IF;
            PERFORM lp.post(v_tx, 'transfer', v_id,
                ARRAY(SELECT ROW(l.wallet_id, l.amount, l.kind, 0, false)::lp.posting
                        FROM (VALUES ((SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_sender), -p_amount, 'tip'),
                                     (lp.system_wallet('platform_fees'), v_fee, 'tip_fee'),
                                     (lp.system_wallet('transit_' || p_to_shard), p_amount - v_fee, 'transfer'))
                             AS l (wallet_id, amount, kind)
                       WHERE l.amount <> 0));
            r_result := v_row;
            RETURN NEXT;
            RETURN;
        END IF;
        -- A concurrent call with the same key committed first (this one waited for it at the counter): its
        -- replay, counted by no fraud control.
        PERFORM lp.uncount_spend(v_sender, 'tip', p_amount);
        SELECT * INTO v_row FROM lp.transfers_out AS t
         WHERE t.sender_id = v_sender AND t.idempotency_key = v_key AND t.hold_id IS NULL
       AND t.refund_of IS NULL;
    END IF;
    PERFORM lp.note_replay('api.tip', p_idempotency_key);
    IF (v_row.recipient_id, v_row.amount, v_row.message, v_row.is_anonymous, v_row.stream_id, v_row.menu_item_id)
       IS DISTINCT FROM (p_recipient_id, p_amount, v_message, coalesce(p_is_anonymous, false), p_stream_id,
                         p_menu_item_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip',
            DETAIL = format('tip %s', v_row.id);
    END IF;
    r_result := v_row;
    r_replayed := current_setting('livepanty.replayed', true);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION shard.tip_out(integer, uuid, uuid, text, integer, uuid, bigint, text, text, boolean, uuid, uuid) IS 'The sender''s half of a cross-shard tip (the router''s api.tip, after shard.payee_check on the performer''s shard): the sender''s checks of api.tip (amount LP103, sanctions LP022/LP150, fraud controls LP160/LP161, spending limit LP109, funds LP100), then one ledger transaction (sender -amount, platform fees +fee, transit_<to_shard> +(amount - fee), reference transfer) and the outbox row, pending until the relay delivers it. Idempotent per sender and key (LP106 for other arguments, or a key of a same-shard tip). Returns the transfer and, for a retry answered from its key, the replay note.';
REVOKE ALL ON FUNCTION shard.tip_out(integer, uuid, uuid, text, integer, uuid, bigint, text, text, boolean, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.tip_out(integer, uuid, uuid, text, integer, uuid, bigint, text, text, boolean, uuid, uuid) TO livepanty_router;

CREATE FUNCTION shard.place_hold_out(
    p_shard           integer,
    p__user           uuid,
    p__session        uuid,
    p__via            text,
    p_payee_id        uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_purpose         text,
    p_expires_in      interval,
    p_stream_id       uuid
) RETURNS TABLE (r_result lp.holds, r_replayed text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The holder's half of a hold for a payee of another shard (the router's api.place_hold, after shard.payee_check
-- on the payee's shard and the payee's stub made here): api.place_hold's rules for the holder, the payee's and
-- their stream's already checked there (docs/scale-out.md, "Holds and captures across shards").
DECLARE
    v_pair record;
BEGIN
    PERFORM shard.act(p_shard, p__user, p__session, p__via);
    SELECT * INTO v_pair FROM lp.place_hold(lp.require_user(), p_payee_id, p_amount, p_idempotency_key, p_purpose,
                                            p_expires_in, p_stream_id, true);
    IF v_pair.r_replayed THEN
        PERFORM lp.note_replay('api.place_hold', p_idempotency_key);
    END IF;
    SELECT h.* INTO r_result FROM lp.holds AS h WHERE h.id = v_pair.r_hold_id;
    r_replayed := current_setting('livepanty.replayed', true);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION shard.place_hold_out(integer, uuid, uuid, text, uuid, bigint, text, text, interval, uuid) IS 'The holder''s half of a hold for a payee of another shard (the router''s api.place_hold, after shard.payee_check there, of the payee and of the stream p_stream_id, which lives there): lp.place_hold with the payee''s stub (LP201 when the payee is no stub of another shard). Returns the hold and, for a retry answered from its key, the replay note.';
REVOKE ALL ON FUNCTION shard.place_hold_out(integer, uuid, uuid, text, uuid, bigint, text, text, interval, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.place_hold_out(integer, uuid, uuid, text, uuid, bigint, text, text, interval, uuid) TO livepanty_router;

CREATE FUNCTION shard.key_used(
    p_shard    integer,
    p__user    uuid,
    p__session uuid,
    p__via     text,
    p__role    text,
    p_kind     text,
    p_hold_id  uuid,
    p_key      text
) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Whether a money call across shards already ran with this idempotency key on this (the payer's) shard: a
-- cross-shard tip of the acting sender (p_kind 'tip'), a hold of the acting holder ('hold'), a capture of hold
-- p_hold_id the caller may capture ('capture'). The router asks when the payee's shard refused the payee (or
-- could not be reached): a retry is then answered from its key, as one node answers it before any check of
-- the payee (docs/scale-out.md, "Replays across shards").
DECLARE
    v_user uuid;
BEGIN
    IF p_kind = 'capture' THEN
        PERFORM shard.act_for_hold(p_shard, p__user, p__session, p__via, p__role);
        PERFORM lp.authorize_hold_action(p_hold_id, 'capture');
        RETURN EXISTS (SELECT 1 FROM lp.hold_captures AS c WHERE c.hold_id = p_hold_id AND c.idempotency_key = p_key);
    END IF;
    PERFORM shard.act(p_shard, p__user, p__session, p__via);
    v_user := lp.require_user();
    IF p_kind = 'tip' THEN
        -- The key of a same-shard tip too: shard.tip_out then refuses it (LP106), as one node does.
        RETURN EXISTS (SELECT 1 FROM lp.transfers_out AS t
                        WHERE t.sender_id = v_user AND t.idempotency_key = p_key AND t.hold_id IS NULL
                          AND t.refund_of IS NULL)
            OR EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.sender_id = v_user AND t.idempotency_key = p_key);
    ELSIF p_kind = 'hold' THEN
        RETURN EXISTS (SELECT 1 FROM lp.holds AS h WHERE h.user_id = v_user AND h.idempotency_key = p_key);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown kind of keyed call', DETAIL = p_kind;
END
$$;
COMMENT ON FUNCTION shard.key_used(integer, uuid, uuid, text, text, text, uuid, text) IS 'Whether this shard already holds the cross-shard money call keyed p_key: the acting sender''s cross-shard tip (p_kind tip), the acting holder''s hold (hold), a capture of hold p_hold_id by a caller allowed to capture it (capture; lp.authorize_hold_action''s LP001..LP004). The router asks after the payee''s shard refused the payee or could not be reached, to answer a retry from its key as one node does. LP018 for another kind.';
REVOKE ALL ON FUNCTION shard.key_used(integer, uuid, uuid, text, text, text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.key_used(integer, uuid, uuid, text, text, text, uuid, text) TO livepanty_router;

CREATE FUNCTION shard.act_for_hold(p_shard integer, p__user uuid, p__session uuid, p__via text, p__role text)
RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- shard.act for the cross-shard captures, which run as the owner (SECURITY DEFINER cannot take the caller's
-- role, as shard.act_as_role does for the generated wrappers): the caller's role is checked here instead. With
-- nobody acting only the back office may go on (lp.authorize_hold_action would see the router's own login).
BEGIN
    PERFORM shard.act(p_shard, p__user, p__session, p__via);
    IF p__role IS NULL OR p__role NOT IN ('livepanty_app', 'livepanty_service') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the caller role must be livepanty_app or livepanty_service';
    END IF;
    IF p__user IS NULL AND p__role <> 'livepanty_service' THEN
        PERFORM lp.require_user();  -- LP001
    END IF;
END
$$;
COMMENT ON FUNCTION shard.act_for_hold(integer, uuid, uuid, text, text) IS 'shard.act for shard.capture_payee and shard.capture_out (owner only): the caller''s role must be livepanty_app or livepanty_service (LP018), and nobody acting is allowed to the back office only (LP001), as lp.authorize_hold_action allows it.';
REVOKE ALL ON FUNCTION shard.act_for_hold(integer, uuid, uuid, text, text) FROM PUBLIC;

CREATE FUNCTION shard.capture_payee(
    p_shard    integer,
    p__user    uuid,
    p__session uuid,
    p__via     text,
    p__role    text,
    p_hold_id  uuid
) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Whether the caller may capture hold p_hold_id (lp.authorize_hold_action, in api.capture_hold's words), and
-- its payee: the router's api.capture_hold asks it first, to find whether the payee lives on another shard.
BEGIN
    PERFORM shard.act_for_hold(p_shard, p__user, p__session, p__via, p__role);
    RETURN (lp.authorize_hold_action(p_hold_id, 'capture')).payee_id;
END
$$;
COMMENT ON FUNCTION shard.capture_payee(integer, uuid, uuid, text, text, uuid) IS 'The payee of hold p_hold_id of this shard, once the caller is allowed to capture it (lp.authorize_hold_action: LP001, LP002, LP003, LP004 as api.capture_hold): the router''s api.capture_hold asks it to find whether the payee lives on another shard.';
REVOKE ALL ON FUNCTION shard.capture_payee(integer, uuid, uuid, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.capture_payee(integer, uuid, uuid, text, text, uuid) TO livepanty_router;

CREATE FUNCTION shard.payee_state_check(p_shard integer, p_payee_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The payee's half of a capture of a hold on another shard, on the payee's shard before the holder's shard
-- moves the tokens: api.capture_hold's checks of the payee, in its words.
BEGIN
    PERFORM shard.here(p_shard);
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_payee_id AND u.deleted_at IS NULL)
       OR EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_payee_id) THEN
        PERFORM lp.refuse_payee('LP003');
    END IF;
    IF lp.sanctioned(p_payee_id) THEN
        PERFORM lp.refuse_payee('LP108');
    END IF;
    IF lp.kyc_refusal(p_payee_id) IS NOT NULL THEN
        PERFORM lp.refuse_payee('LP135');
    END IF;
END
$$;
COMMENT ON FUNCTION shard.payee_state_check(integer, uuid) IS 'The payee''s half of the checks of a cross-shard capture, on the payee''s shard (the router''s api.capture_hold, before shard.capture_out): LP003 deleted or not a user of this shard, LP108 sanctioned, LP135 no valid identity verification, raised as api.capture_hold raises them.';
REVOKE ALL ON FUNCTION shard.payee_state_check(integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payee_state_check(integer, uuid) TO livepanty_router;

CREATE FUNCTION shard.capture_out(
    p_shard           integer,
    p__user           uuid,
    p__session        uuid,
    p__via            text,
    p__role           text,
    p_hold_id         uuid,
    p_amount          bigint,
    p_idempotency_key text
) RETURNS TABLE (r_result lp.hold_captures, r_replayed text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The holder's half of a capture whose payee lives on another shard (the router's api.capture_hold, after
-- shard.payee_state_check there): the holder's debit, the fee and the payee's part in transit with an outbox
-- row, which the relay credits on the payee's shard exactly once (docs/scale-out.md).
DECLARE
    v_pair record;
BEGIN
    PERFORM shard.act_for_hold(p_shard, p__user, p__session, p__via, p__role);
    SELECT * INTO v_pair FROM lp.capture_hold(p_hold_id, p_amount, p_idempotency_key, true);
    IF v_pair.r_replayed THEN
        PERFORM lp.note_replay('api.capture_hold', p_idempotency_key);
    END IF;
    SELECT c.* INTO r_result FROM lp.hold_captures AS c WHERE c.id = v_pair.r_capture_id;
    r_replayed := current_setting('livepanty.replayed', true);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION shard.capture_out(integer, uuid, uuid, text, text, uuid, bigint, text) IS 'The holder''s half of a capture of a hold whose payee lives on another shard (the router''s api.capture_hold, after shard.payee_state_check there): lp.capture_hold, the payee''s part to the in-transit wallet of their shard with an outbox row (hold_id) the relay delivers once (LP201 when the payee lives here). Returns the capture and, for a retry answered from its key, the replay note.';
REVOKE ALL ON FUNCTION shard.capture_out(integer, uuid, uuid, text, text, uuid, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.capture_out(integer, uuid, uuid, text, text, uuid, bigint, text) TO livepanty_router;

CREATE FUNCTION shard.payee_holds_page(
    p_payee_id      uuid,
    p_status        text,
    p_after_created timestamptz,
    p_after_id      uuid,
    p_limit         integer
) RETURNS SETOF lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- This shard's page of the holds whose payee is p_payee_id (the user the router proved; a payee of another
-- shard is a stub here, or unknown and has none), after a key, as api.list_holds pages them: the router's
-- api.list_holds (p_as payee) merges every shard's page. Holds past their time are expired on the way.
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    PERFORM lp.expire_due_holds(ARRAY(
        SELECT h.id FROM lp.holds AS h
         WHERE h.payee_id = p_payee_id AND h.status = 'open' AND lp.hold_due(h)));
    RETURN QUERY
        SELECT h.*
          FROM lp.holds AS h
         WHERE h.payee_id = p_payee_id
           AND (p_status IS NULL OR h.status = p_status::lp.hold_status)
           AND (p_after_id IS NULL OR (h.created_at, h.id) < (p_after_created, p_after_id))
         ORDER BY h.created_at DESC, h.id DESC
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION shard.payee_holds_page(uuid, text, timestamptz, uuid, integer) IS 'This shard''s page of the holds whose payee is p_payee_id, newest first, after the key (p_after_created, p_after_id) when given, optionally of one status (holds past their time expired first): the router merges every shard''s page for api.list_holds as payee. LP018 for a limit outside 1..1000.';
REVOKE ALL ON FUNCTION shard.payee_holds_page(uuid, text, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payee_holds_page(uuid, text, timestamptz, uuid, integer) TO livepanty_router;

CREATE FUNCTION shard.payee_hold_key(p_hold_id uuid, p_payee_id uuid) RETURNS SETOF timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT h.created_at FROM lp.holds AS h WHERE h.id = p_hold_id AND h.payee_id = p_payee_id;
$$;
COMMENT ON FUNCTION shard.payee_hold_key(uuid, uuid) IS 'The creation time of hold p_hold_id of this shard when p_payee_id is its payee, else no row: the router''s cursor for api.list_holds as payee.';
REVOKE ALL ON FUNCTION shard.payee_hold_key(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payee_hold_key(uuid, uuid) TO livepanty_router;

CREATE FUNCTION shard.transfer_in(
    p_shard           integer,
    p_from_shard      integer,
    p_id              uuid,
    p_sender_id       uuid,
    p_sender_name     text,
    p_sender_role     text,
    p_recipient_id    uuid,
    p_tip_amount      bigint,
    p_fee_amount      bigint,
    p_message         text,
    p_is_anonymous    boolean,
    p_stream_id       uuid,
    p_menu_item_id    uuid,
    p_idempotency_key text,
    p_sent_at         timestamptz,
    p_hold_id         uuid,
    p_refund_of       uuid
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The receiving half, run by the relay: exactly once per transfer id (the primary key of lp.transfers_in;
-- a second delivery finds the row and changes nothing). Three kinds (docs/scale-out.md):
-- * a tip: recorded here as the performer's shard's own tip (lp.tips, id = the transfer id, sent by the
--   sender's stub), so the performer's tips, earnings and stream statistics count it; naming a live stream, it
--   counts toward the goal that was active when the sender's shard took it (p_sent_at) and is announced in its
--   events as api.tip announces a tip. Toward a
--   goal that refunds when missed it waits in this shard's goal escrow (status escrowed) until
--   api.settle_tip_goals pays it to the performer or sends it back;
-- * a capture of a hold on the sender's shard (p_hold_id): credits the performer (entry kind hold_capture) and
--   records no tip;
-- * a refund (p_refund_of): the tip p_refund_of this shard sent to p_from_shard came back, its goal missed
--   there: the sender gets the whole tip again, what was in transit from the in-transit wallet and the fee
--   from this shard's platform fees, which had kept it; less what a write-off of a reversal made while the tip
--   was out counted it as spent, which goes back to chargeback_losses (below).
DECLARE
    v_count  smallint := shard.here(p_shard);
    v_net    bigint := p_tip_amount - p_fee_amount;
    v_row    lp.transfers_in;
    v_wallet uuid;
    v_goal   record;
    v_item   text;
    v_tip    lp.tips;
    v_total  bigint;
    v_out    lp.transfers_out;
    v_back   bigint;
BEGIN
    IF p_from_shard IS NULL OR p_from_shard < 0 OR p_from_shard >= v_count OR p_from_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a peer shard',
            DETAIL = format('shard %s of %s, to shard %s', p_from_shard, v_count, p_shard);
    END IF;
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = p_recipient_id;
    IF v_wallet IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'the recipient of a transfer has no wallet on this shard',
            DETAIL = format('transfer %s, user %s', p_id, p_recipient_id);
    END IF;
    IF p_refund_of IS NOT NULL THEN
        -- The sender's spend counter first (step 1 of the lock protocol, docs/ledger.md): a refund or chargeback
        -- of their payments takes it first too, so what the platform wrote off for them (below) cannot change
        -- under this refund. In a relay batch, shard.transfer_in_many took it before any wallet.
        PERFORM lp.lock_spend_counter(p_recipient_id);
        -- The tip refunded must be one this shard sent to p_from_shard for this user, with the amount in transit.
        SELECT o.* INTO v_out FROM lp.transfers_out AS o
         WHERE o.id = p_refund_of AND o.hold_id IS NULL AND o.refund_of IS NULL;
        IF v_out.id IS NULL OR p_hold_id IS NOT NULL OR v_out.to_shard <> p_from_shard
           OR v_out.sender_id <> p_recipient_id OR v_out.amount - v_out.fee_amount <> v_net THEN
            RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'a refund of no tip this shard sent',
                DETAIL = format('transfer %s, refund of %s', p_id, p_refund_of);
        END IF;
        IF EXISTS (SELECT 1 FROM lp.transfers_in AS i WHERE i.refund_of = p_refund_of AND i.id <> p_id) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'a tip refunded twice',
                DETAIL = format('transfer %s, refund of %s', p_id, p_refund_of);
        END IF;
    END IF;
    INSERT INTO lp.transfers_in (id, from_shard, sender_id, recipient_id, tip_amount, amount, is_anonymous,
                                 transaction_id, sent_at, hold_id, refund_of)
    VALUES (p_id, p_from_shard, p_sender_id, p_recipient_id, coalesce(v_out.amount, p_tip_amount), v_net,
            coalesce(p_is_anonymous, false), lp.uuid_v7(), p_sent_at, p_hold_id, p_refund_of)
    ON CONFLICT (id) DO NOTHING
    RETURNING * INTO v_row;
    IF v_row.id IS NULL THEN
        SELECT * INTO v_row FROM lp.transfers_in AS t WHERE t.id = p_id;
        IF (v_row.from_shard, v_row.recipient_id, v_row.amount, v_row.hold_id, v_row.refund_of)
           IS DISTINCT FROM (p_from_shard, p_recipient_id, v_net, p_hold_id, p_refund_of) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'a transfer id delivered twice with other contents',
                DETAIL = format('transfer %s', p_id);
        END IF;
        RETURN false;
    END IF;
    IF p_refund_of IS NOT NULL THEN
        -- Under refunds.shortfall_policy write_off, a refund or chargeback of the sender's purchase made while
        -- this tip was out (reversed at or after the tip was sent, v_out.created_at) counted it as spent: this
        -- shard cannot see the performer's shard's goal escrow (on one node lp.claw_back counts a tip in escrow
        -- as recovered, and its refund settles the debt that leaves). Were the refund the sender's in full, they
        -- would have the purchase's money back and the tokens too. So it first makes good what those reversals
        -- wrote off (chargeback_losses is credited; the payments' written-off tokens become recovered, oldest
        -- reversal first, as api.refund_show does), and only the rest reaches the sender: the end state of one
        -- node. A write-off older than the tip is left alone (on one node its refund credits the sender too).
        -- Once per transfer: the lp.transfers_in row above is the key. (Under debt the credit settles the debt.)
        WITH open AS (
            SELECT y.id, y.written_off_tokens,
                   coalesce(sum(y.written_off_tokens) OVER (ORDER BY coalesce(y.charged_back_at, y.refunded_at), y.id
                                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                       AS before
              FROM lp.payments AS y
             WHERE y.user_id = p_recipient_id AND y.status IN ('refunded', 'chargeback') AND y.written_off_tokens > 0
               AND coalesce(y.charged_back_at, y.refunded_at) >= v_out.created_at
        ), taken AS (
            UPDATE lp.payments AS y
               SET written_off_tokens = y.written_off_tokens - d.take,
                   recovered_tokens   = y.recovered_tokens + d.take,
                   updated_at         = now()
              FROM (SELECT o.id, least(o.written_off_tokens, greatest(0, v_out.amount - o.before))::bigint AS take
                      FROM open AS o) AS d
             WHERE y.id = d.id AND d.take > 0
            RETURNING d.take
        )
        SELECT coalesce(sum(t.take), 0)::bigint INTO v_back FROM taken AS t;
        PERFORM lp.post(v_row.transaction_id, 'transfer', p_id,
            ARRAY(SELECT ROW(l.wallet_id, l.amount, l.kind, 0, false)::lp.posting
                    FROM (VALUES (lp.system_wallet('transit_' || p_from_shard), -v_net, 'transfer'),
                                 (lp.system_wallet('platform_fees'), -v_out.fee_amount, 'refund'),
                                 (v_wallet, v_out.amount - v_back, 'refund'),
                                 (lp.system_wallet('chargeback_losses'), v_back, 'write_off'))
                             AS l (wallet_id, amount, kind)
                   WHERE l.amount <> 0));
        RETURN true;
    END IF;
    IF p_hold_id IS NOT NULL THEN
        IF v_net > 0 THEN
            PERFORM lp.post(v_row.transaction_id, 'transfer', p_id,
                ARRAY[ROW(lp.system_wallet('transit_' || p_from_shard), -v_net, 'transfer', 0, false)::lp.posting,
                      ROW(v_wallet, v_net, 'hold_capture', 0, false)::lp.posting]);
        END IF;
        RETURN true;
    END IF;
    -- The sender's stub, made if missing; an existing stub's role is the router's to keep (shard.ensure_user):
    -- p_sender_role is the role when the tip was claimed or sent, maybe no longer theirs.
    PERFORM shard.make_stub(p_shard, p_sender_id, p_sender_name, p_sender_role, p_from_shard);
    -- The goal the tip was sent toward: the stream's goal that was active and still took tips when the sender's
    -- shard took the tip (p_sent_at), as on one node a tip counts toward the goal active when it is made, not
    -- one activated while it was in transit. It may have closed since (reached, missed, cancelled): the tip still
    -- counts toward it, as a tip on one node that read the goal as active before it closed; toward a goal that
    -- refunds when missed the credit waits in escrow, and api.settle_tip_goals pays it out or back.
    SELECT g.id, g.target_tokens, g.refund_if_missed, g.status INTO v_goal FROM lp.tip_goals AS g
     WHERE p_stream_id IS NOT NULL AND g.stream_id = p_stream_id
       AND g.activated_at <= p_sent_at AND (g.closed_at IS NULL OR g.closed_at > p_sent_at)
       AND (g.deadline IS NULL OR g.deadline > p_sent_at)
     ORDER BY g.activated_at DESC, g.id
     LIMIT 1;
    SELECT m.name INTO v_item FROM lp.tip_menu_items AS m WHERE m.id = p_menu_item_id;
    INSERT INTO lp.tips (id, sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                         transaction_id, idempotency_key, goal_id, menu_item_id, status)
    VALUES (p_id, p_sender_id, p_recipient_id,
            (SELECT st.id FROM lp.streams AS st WHERE st.id = p_stream_id), p_tip_amount, p_fee_amount, p_message,
            coalesce(p_is_anonymous, false), v_row.transaction_id, p_idempotency_key, v_goal.id,
            CASE WHEN v_item IS NOT NULL THEN p_menu_item_id END,
            CASE WHEN v_goal.refund_if_missed THEN 'escrowed' ELSE 'completed' END)
    RETURNING * INTO v_tip;
    IF v_net > 0 THEN
        PERFORM lp.post(v_row.transaction_id, 'transfer', p_id,
            ARRAY[ROW(lp.system_wallet('transit_' || p_from_shard), -v_net, 'transfer', 0, false)::lp.posting,
                  ROW(CASE WHEN v_goal.refund_if_missed THEN lp.system_wallet('goal_escrow') ELSE v_wallet END,
                      v_net, 'tip', 0, false)::lp.posting]);
    END IF;
    IF v_goal.id IS NOT NULL THEN
        v_total := lp.add_goal_progress(v_goal.id, p_tip_amount, 1);
        IF v_total >= v_goal.target_tokens AND v_goal.status = 'active' THEN
            PERFORM lp.reach_goal(v_goal.id);
        END IF;
    END IF;
    IF v_tip.stream_id IS NOT NULL THEN
        -- The event api.tip emits (same payload).
        PERFORM lp.emit_event(v_tip.stream_id, CASE WHEN v_tip.menu_item_id IS NULL THEN 'tip' ELSE 'menu_item' END::lp.stream_event_kind,
            jsonb_build_object('tip_id', v_tip.id, 'sender_id', p_sender_id, 'amount', p_tip_amount,
                               'message', v_tip.message, 'anonymous', v_tip.is_anonymous)
            || CASE WHEN v_tip.menu_item_id IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('menu_item_id', v_tip.menu_item_id, 'item', v_item) END
            || CASE WHEN v_goal.id IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('goal_id', v_goal.id, 'goal_progress', v_total,
                                            'goal_target', v_goal.target_tokens) END);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION shard.transfer_in(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) IS 'The receiving half of a cross-shard tip, capture or refund, applied by the relay exactly once per transfer id: transit_<from_shard> -(amount - fee), the performer +(amount - fee) (reference transfer; entry kind hold_capture for a capture of hold p_hold_id), the lp.transfers_in row, and for a tip the tip recorded as this shard''s own (lp.tips, id = the transfer id, sender = the sender''s stub, made by shard.make_stub when missing, its role left as it is), with its stream goal (the one active when the sender''s shard took the tip, p_sent_at, even if it closed since) and event like api.tip; toward a goal that refunds when missed the credit goes to the goal escrow (status escrowed). A refund (p_refund_of, a tip this shard sent): transit_<from_shard> -(amount - fee), platform fees -fee, the sender +amount (entry kind refund), of which what refunds and chargebacks of the sender''s purchases reversed since the tip was sent wrote off goes to chargeback_losses first (entry kind write_off; those payments'' written-off tokens become recovered, oldest reversal first), the sender''s spend counter taken first; LP199 when it names no such tip, or one refunded under another transfer id. True when applied now, false when it was applied before (the same transfer again changes nothing; other contents under the same id: LP199).';
REVOKE ALL ON FUNCTION shard.transfer_in(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.transfer_in(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) TO livepanty_router;

-- Delivery at once (the router, right after the sender's shard committed a tip; docs/scale-out.md): the same
-- steps as the relay's, but waiting at most a moment for a lock. A relay's batch may hold this performer's
-- wallet or this transfer's row: the router then gives up (55P03, or 40P01), and the relay delivers it; a
-- router that waited could deadlock with that batch, and would keep the tipper waiting.
CREATE FUNCTION shard.transfer_in_at_once(
    p_shard integer, p_from_shard integer, p_id uuid, p_sender_id uuid, p_sender_name text, p_sender_role text,
    p_recipient_id uuid, p_tip_amount bigint, p_fee_amount bigint, p_message text, p_is_anonymous boolean,
    p_stream_id uuid, p_menu_item_id uuid, p_idempotency_key text, p_sent_at timestamptz, p_hold_id uuid,
    p_refund_of uuid
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET lock_timeout = '250ms'
AS $$
BEGIN
    RETURN shard.transfer_in(p_shard, p_from_shard, p_id, p_sender_id, p_sender_name, p_sender_role, p_recipient_id,
                             p_tip_amount, p_fee_amount, p_message, p_is_anonymous, p_stream_id, p_menu_item_id,
                             p_idempotency_key, p_sent_at, p_hold_id, p_refund_of);
END
$$;
COMMENT ON FUNCTION shard.transfer_in_at_once(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) IS 'shard.transfer_in for the router''s delivery at once, waiting at most 250 ms for any lock (55P03 then: the relay delivers it).';
REVOKE ALL ON FUNCTION shard.transfer_in_at_once(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.transfer_in_at_once(integer, integer, uuid, uuid, text, text, uuid, bigint, bigint, text, boolean, uuid, uuid, text, timestamptz, uuid, uuid) TO livepanty_router;

CREATE FUNCTION shard.mark_delivered_at_once(p_shard integer, p_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET lock_timeout = '250ms'
AS $$
BEGIN
    RETURN shard.mark_delivered(p_shard, p_ids);
END
$$;
COMMENT ON FUNCTION shard.mark_delivered_at_once(integer, uuid[]) IS 'shard.mark_delivered for the router''s delivery at once, waiting at most 250 ms for the rows (a relay that claimed them marks them itself).';
REVOKE ALL ON FUNCTION shard.mark_delivered_at_once(integer, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.mark_delivered_at_once(integer, uuid[]) TO livepanty_router;

CREATE FUNCTION shard.transfer_in_many(p_shard integer, p_from_shard integer, p_transfers jsonb)
RETURNS TABLE (id uuid, applied boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- A batch of the relay's deliveries in one transaction (one commit, one round trip): shard.transfer_in for each,
-- by performer, then in the order they were sent (a performer's tips, goal progress and events keep their
-- order; the performers' wallets are taken in one order by every worker). Any error fails the whole batch;
-- the relay then delivers that batch one transfer per transaction, so that one refused transfer does not hold
-- up the others.
DECLARE
    r record;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_transfers is a JSON array of transfers';
    END IF;
    -- The spend counters of the users the batch's refunds credit, before any wallet (step 1 of the lock
    -- protocol, docs/ledger.md: shard.transfer_in takes a refund's counter first, since the refund may settle
    -- what a chargeback wrote off; taken there one transfer after the other, a counter would be waited for while
    -- the batch holds an earlier transfer's wallets). As api.refund_show takes its viewers': the missing rows
    -- made in one statement, then every row locked in one, both in user id order.
    INSERT INTO lp.spend_counters (user_id, account_created_at, first_payment_at)
    SELECT u.id, u.created_at,
           (SELECT min(y.completed_at) FROM lp.payments AS y WHERE y.user_id = u.id AND y.status = 'completed')
      FROM lp.users AS u
     WHERE u.id IN (SELECT (t ->> 'recipient_id')::uuid FROM jsonb_array_elements(p_transfers) AS t
                     WHERE t ->> 'refund_of' IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM lp.spend_counters AS f WHERE f.user_id = u.id)
     ORDER BY u.id
    ON CONFLICT (user_id) DO NOTHING;
    PERFORM 1 FROM lp.spend_counters AS f
     WHERE f.user_id IN (SELECT (t ->> 'recipient_id')::uuid FROM jsonb_array_elements(p_transfers) AS t
                          WHERE t ->> 'refund_of' IS NOT NULL)
     ORDER BY f.user_id
       FOR NO KEY UPDATE;
    FOR r IN
        SELECT t.* FROM jsonb_to_recordset(p_transfers) AS t (
            id uuid, sender_id uuid, sender_name text, sender_role text, recipient_id uuid, amount bigint,
            fee_amount bigint, message text, is_anonymous boolean, stream_id uuid, menu_item_id uuid,
            idempotency_key text, created_at timestamptz, hold_id uuid, refund_of uuid)
         ORDER BY t.recipient_id, t.created_at, t.id
    LOOP
        id := r.id;
        applied := shard.transfer_in(p_shard, p_from_shard, r.id, r.sender_id, r.sender_name, r.sender_role,
                                     r.recipient_id, r.amount, r.fee_amount, r.message, r.is_anonymous,
                                     r.stream_id, r.menu_item_id, r.idempotency_key, r.created_at, r.hold_id,
                                     r.refund_of);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION shard.transfer_in_many(integer, integer, jsonb) IS 'The relay''s batch: shard.transfer_in for every transfer of p_transfers (the rows of shard.claim_transfers as JSON objects) in one transaction, by recipient then by time sent (the spend counters of the refunds'' recipients taken first, in user id order); returns each id and whether it was applied now (false: applied before). An error fails the whole batch (the relay then delivers it one by one). LP018 not a JSON array.';
REVOKE ALL ON FUNCTION shard.transfer_in_many(integer, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.transfer_in_many(integer, integer, jsonb) TO livepanty_router;

CREATE FUNCTION shard.claim_transfers(p_shard integer, p_to_shard integer, p_limit integer)
RETURNS TABLE (id uuid, sender_id uuid, sender_name text, sender_role text, recipient_id uuid, amount bigint,
               fee_amount bigint, message text, is_anonymous boolean, stream_id uuid, menu_item_id uuid,
               idempotency_key text, created_at timestamptz, hold_id uuid, refund_of uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The relay's claim: pending rows, oldest first, locked until the relay's transaction ends (SKIP LOCKED: other
-- workers take other rows). A worker that dies loses its transaction, and the rows are claimable again.
BEGIN
    PERFORM shard.here(p_shard);
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 10000';
    END IF;
    RETURN QUERY
    WITH claimed AS (
        UPDATE lp.transfers_out AS t SET attempts = t.attempts + 1
          FROM (SELECT o.id FROM lp.transfers_out AS o
                 WHERE o.status = 'pending' AND o.to_shard = p_to_shard
                 ORDER BY o.created_at, o.id
                 LIMIT p_limit
                   FOR UPDATE SKIP LOCKED) AS picked
         WHERE t.id = picked.id
        RETURNING t.*
    )
    SELECT c.id, c.sender_id, u.username::text, u.role::text, c.recipient_id, c.amount, c.fee_amount, c.message,
           c.is_anonymous, c.stream_id, c.menu_item_id, c.idempotency_key, c.created_at, c.hold_id, c.refund_of
      FROM claimed AS c JOIN lp.users AS u ON u.id = c.sender_id
     ORDER BY c.created_at, c.id;
END
$$;
COMMENT ON FUNCTION shard.claim_transfers(integer, integer, integer) IS 'The relay''s claim of up to p_limit pending cross-shard tips for p_to_shard, oldest first, locked (FOR UPDATE SKIP LOCKED) until the caller''s transaction ends, with what the performer''s shard records (the sender''s username and role for the stub); attempts counted. LP018 for a limit outside 1..10000.';
REVOKE ALL ON FUNCTION shard.claim_transfers(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.claim_transfers(integer, integer, integer) TO livepanty_router;

CREATE FUNCTION shard.mark_delivered(p_shard integer, p_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    PERFORM shard.here(p_shard);
    UPDATE lp.transfers_out AS t SET status = 'delivered', delivered_at = now(), last_error = NULL
     WHERE t.id = ANY (p_ids) AND t.status = 'pending';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION shard.mark_delivered(integer, uuid[]) IS 'The relay''s confirmation: the cross-shard tips p_ids were applied on their shard (shard.transfer_in); returns how many were pending.';
REVOKE ALL ON FUNCTION shard.mark_delivered(integer, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.mark_delivered(integer, uuid[]) TO livepanty_router;

CREATE FUNCTION shard.capture_transfer(p_shard integer, p_hold_id uuid, p_transaction_id uuid)
RETURNS lp.transfers_out
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_out lp.transfers_out;
BEGIN
    PERFORM shard.here(p_shard);
    SELECT t.* INTO v_out FROM lp.transfers_out AS t
     WHERE t.hold_id = p_hold_id AND t.transaction_id = p_transaction_id;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION shard.capture_transfer(integer, uuid, uuid) IS 'The outbox row of the capture of hold p_hold_id in ledger transaction p_transaction_id (a capture whose payee lives on another shard: shard.capture_out), or a row of NULLs: with delivery at once the router''s api.capture_hold applies it on the payee''s shard before it returns (router.deliver_now).';
REVOKE ALL ON FUNCTION shard.capture_transfer(integer, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.capture_transfer(integer, uuid, uuid) TO livepanty_router;

CREATE FUNCTION shard.note_failure(p_shard integer, p_ids uuid[], p_error text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    UPDATE lp.transfers_out AS t SET last_error = left(p_error, 500)
     WHERE t.id = ANY (p_ids) AND t.status = 'pending';
END
$$;
COMMENT ON FUNCTION shard.note_failure(integer, uuid[], text) IS 'The relay records why a delivery failed (shown by livepanty-db shards status); the rows stay pending.';
REVOKE ALL ON FUNCTION shard.note_failure(integer, uuid[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.note_failure(integer, uuid[], text) TO livepanty_router;

CREATE FUNCTION shard.transfer_totals(p_shard integer)
RETURNS TABLE (peer smallint, sent_tokens bigint, sent_count bigint, pending_tokens bigint, pending_count bigint,
               received_tokens bigint, received_count bigint, transit_balance bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Per peer shard: what left for it (net of fees), what is still pending, what arrived from it, and the
-- in-transit wallet's balance, which must equal sent - received (checked by livepanty-db verify --all-shards).
DECLARE
    v_count smallint := shard.here(p_shard);
BEGIN
    RETURN QUERY
    SELECT k::smallint,
           coalesce((SELECT sum(o.amount - o.fee_amount) FROM lp.transfers_out AS o WHERE o.to_shard = k), 0)::bigint,
           (SELECT count(*) FROM lp.transfers_out AS o WHERE o.to_shard = k
                AND (o.hold_id IS NULL OR o.amount > o.fee_amount)),
           coalesce((SELECT sum(o.amount - o.fee_amount) FROM lp.transfers_out AS o
                      WHERE o.to_shard = k AND o.status = 'pending'), 0)::bigint,
           (SELECT count(*) FROM lp.transfers_out AS o WHERE o.to_shard = k AND o.status = 'pending'),
           coalesce((SELECT sum(i.amount) FROM lp.transfers_in AS i WHERE i.from_shard = k), 0)::bigint,
           (SELECT count(*) FROM lp.transfers_in AS i WHERE i.from_shard = k),
           (SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)
              FROM lp.wallets AS w WHERE w.system_code = 'transit_' || k)::bigint
      FROM generate_series(0, v_count - 1) AS k
     WHERE k <> p_shard
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION shard.transfer_totals(integer) IS 'Cross-shard totals of this shard per peer: tokens sent (net of fees) and their count, still pending, received, and the in-transit wallet''s balance (= sent - received). Read by livepanty-db verify --all-shards.';
REVOKE ALL ON FUNCTION shard.transfer_totals(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.transfer_totals(integer) TO livepanty_router;

CREATE FUNCTION shard.transfer_ids(p_shard integer, p_peer integer, p_direction text)
RETURNS TABLE (id uuid, amount bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    IF p_direction = 'out' THEN
        RETURN QUERY SELECT o.id, o.amount - o.fee_amount FROM lp.transfers_out AS o
                      WHERE o.to_shard = p_peer AND (o.hold_id IS NULL OR o.amount > o.fee_amount) ORDER BY o.id;
    ELSIF p_direction = 'delivered' THEN
        RETURN QUERY SELECT o.id, o.amount - o.fee_amount FROM lp.transfers_out AS o
                      WHERE o.to_shard = p_peer AND (o.hold_id IS NULL OR o.amount > o.fee_amount)
                        AND o.status = 'delivered' ORDER BY o.id;
    ELSIF p_direction = 'in' THEN
        RETURN QUERY SELECT i.id, i.amount FROM lp.transfers_in AS i WHERE i.from_shard = p_peer ORDER BY i.id;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'direction must be out, delivered or in';
    END IF;
END
$$;
COMMENT ON FUNCTION shard.transfer_ids(integer, integer, text) IS 'Every transfer id (and net amount) this shard sent to (out), sent and saw confirmed by the relay (delivered) or received from (in) p_peer: the global reconciliation matches them one by one. Sent: every tip and refund, 0 tokens included (a fee of the whole tip), and every capture that carries tokens (one whose fee is the whole capture is delivered at once: the payee''s shard records nothing of it). LP018 for another direction.';
REVOKE ALL ON FUNCTION shard.transfer_ids(integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.transfer_ids(integer, integer, text) TO livepanty_router;

CREATE FUNCTION shard.user_ids(p_shard integer) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY SELECT u.id FROM lp.users AS u
                  WHERE NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id) ORDER BY u.id;
END
$$;
COMMENT ON FUNCTION shard.user_ids(integer) IS 'The ids of every user who lives on this shard (no other column; not the stubs of lp.remote_users): livepanty-db verify --all-shards checks them against the router''s directory.';
REVOKE ALL ON FUNCTION shard.user_ids(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.user_ids(integer) TO livepanty_router;

CREATE FUNCTION shard.pending_errors(p_shard integer)
RETURNS TABLE (to_shard smallint, last_error text, created_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    SELECT x.to_shard, x.last_error, x.created_at
      FROM (SELECT o.to_shard, o.last_error, o.created_at FROM lp.transfers_out AS o
             WHERE o.status = 'pending' AND o.last_error IS NOT NULL
            UNION ALL
            SELECT r.to_shard, 'payout hold request ' || r.id || ': ' || r.last_error, r.created_at
              FROM lp.payout_hold_requests AS r WHERE r.status = 'pending' AND r.last_error IS NOT NULL
            UNION ALL
            SELECT r.to_shard, 'sanction request ' || r.id || ': ' || r.last_error, r.created_at
              FROM lp.sanction_requests AS r WHERE r.status = 'pending' AND r.last_error IS NOT NULL
            UNION ALL
            SELECT l.to_shard, 'payout hold lift ' || l.id || ': ' || l.last_error, l.created_at
              FROM lp.payout_hold_lifts AS l WHERE l.status = 'pending' AND l.last_error IS NOT NULL) AS x
     ORDER BY x.to_shard, x.created_at DESC;
END
$$;
COMMENT ON FUNCTION shard.pending_errors(integer) IS 'Pending cross-shard tips, payout hold requests, payout hold lifts and sanction requests whose last delivery failed, newest first per peer shard (livepanty-db shards status).';

CREATE FUNCTION shard.pending_requests(p_shard integer)
RETURNS TABLE (to_shard smallint, hold_requests bigint, sanction_requests bigint, hold_lifts bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    SELECT k.to_shard, count(*) FILTER (WHERE k.kind = 'hold'), count(*) FILTER (WHERE k.kind = 'sanction'),
           count(*) FILTER (WHERE k.kind = 'lift')
      FROM (SELECT r.to_shard, 'hold' AS kind FROM lp.payout_hold_requests AS r WHERE r.status = 'pending'
            UNION ALL
            SELECT r.to_shard, 'sanction' FROM lp.sanction_requests AS r WHERE r.status = 'pending'
            UNION ALL
            SELECT l.to_shard, 'lift' FROM lp.payout_hold_lifts AS l WHERE l.status = 'pending') AS k
     GROUP BY k.to_shard
     ORDER BY k.to_shard;
END
$$;
COMMENT ON FUNCTION shard.pending_requests(integer) IS 'Per peer shard, the payout hold requests, sanction requests and payout hold lifts of this shard not yet delivered there (livepanty-db shards status: the relay''s backlog besides the transfers).';
REVOKE ALL ON FUNCTION shard.pending_requests(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.pending_requests(integer) TO livepanty_router;
REVOKE ALL ON FUNCTION shard.pending_errors(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.pending_errors(integer) TO livepanty_router;

CREATE FUNCTION shard.locate(p_table text, p_id uuid) RETURNS SETOF integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Asked on every shard at once (RUN ON ALL): this shard's number when it holds the object, no row otherwise.
BEGIN
    IF p_table IS NULL OR p_table NOT IN ('payments', 'payouts', 'holds', 'kyc_verifications', 'streams', 'shows',
                                          'tip_goals', 'user_sanctions', 'reports', 'sanction_appeals', 'tips', 'outbox',
                                          'auth_sessions') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'not a table the router locates objects in',
            DETAIL = format('table %L', p_table);
    END IF;
    RETURN QUERY EXECUTE format('SELECT s.shard::integer FROM lp.shard_self AS s WHERE EXISTS (SELECT 1 FROM lp.%I AS o WHERE o.id = $1)', p_table)
        USING p_id;
END
$$;
COMMENT ON FUNCTION shard.locate(text, uuid) IS 'This shard''s number when it holds the object p_id of lp.<p_table> (payments, payouts, holds, kyc_verifications, streams, shows, tip_goals, user_sanctions, reports, sanction_appeals, tips, outbox, auth_sessions), else no row: the router asks every shard at once to route a back-office call on an object (LP018 for another table).';
REVOKE ALL ON FUNCTION shard.locate(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.locate(text, uuid) TO livepanty_router;

CREATE FUNCTION shard.stream_wakeups(p_after text)
RETURNS TABLE (next_position text, channel text, event_id bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- This shard's wake-ups after its position p_after (lp.stream_wakeups): the router's api.wake_stream_listeners
-- sends them to the router's listeners, where the clients LISTEN.
BEGIN
    RETURN QUERY SELECT * FROM lp.stream_wakeups(p_after);
END
$$;
COMMENT ON FUNCTION shard.stream_wakeups(text) IS 'This shard''s wake-ups after its position p_after (lp.stream_wakeups: a LISTEN channel and newest event id per stream with new events, and the position to go on from): the router''s api.wake_stream_listeners NOTIFYs them on the router. LP018 a malformed position.';
REVOKE ALL ON FUNCTION shard.stream_wakeups(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.stream_wakeups(text) TO livepanty_router;

CREATE FUNCTION shard.live_streams(
    p_category      text,
    p_tag           text,
    p_after_viewers integer,
    p_after_id      uuid,
    p_limit         integer
)
RETURNS TABLE (id uuid, host_id uuid, host_name text, title text, category text, tags text[], is_mature boolean,
               thumbnail_url text, started_at timestamptz, viewers integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- This shard's page of the discovery listing (RUN ON ALL from the router, which has checked that someone is
-- signed in and merges the pages in the same order).
BEGIN
    RETURN QUERY SELECT * FROM lp.live_streams_page(p_category, p_tag, p_after_viewers, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION shard.live_streams(text, text, integer, uuid, integer) IS 'This shard''s keyset page of live public streams (lp.live_streams_page): the router merges every shard''s page for api.list_live_streams.';
REVOKE ALL ON FUNCTION shard.live_streams(text, text, integer, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.live_streams(text, text, integer, uuid, integer) TO livepanty_router;

CREATE FUNCTION shard.make_stub(p_shard integer, p_user_id uuid, p_username text, p_role text, p_home_shard integer)
RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The stub of a user of another shard (docs/scale-out.md, "Users of other shards"), made when they have none
-- here; a stub that exists is left as it is (its role included: only the router's shard.ensure_user, which
-- records what it wrote in router.stubs, changes it). Its username is theirs unless a user of this shard (or
-- another stub) holds that name: then 'remote_' and hex digits of their id, so that a stub can never fail for a
-- name (the name is only shown here; the user is known by their id). Owner code: shard.ensure_user, the
-- relay's shard.transfer_in, shard.apply_sanction_request, shard.apply_hold_lift.
DECLARE
    v_remote boolean;
    v_name   text;
BEGIN
    IF p_home_shard IS NULL OR p_home_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'a stub is for a user of another shard',
            DETAIL = format('user %s, home shard %s, this shard %s', p_user_id, p_home_shard, p_shard);
    END IF;
    SELECT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id) INTO v_remote
      FROM lp.users AS u WHERE u.id = p_user_id;
    IF v_remote THEN
        RETURN;
    ELSIF NOT v_remote THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'the user lives on this shard',
            DETAIL = format('user %s', p_user_id);
    END IF;
    -- No row yet. A username clash (or a stub of the same user made at this moment: its address) raises
    -- unique_violation, and the next name is tried; the id taken meanwhile by that stub is no error.
    FOREACH v_name IN ARRAY ARRAY[p_username, 'remote_' || left(replace(p_user_id::text, '-', ''), 23)] LOOP
        BEGIN
            INSERT INTO lp.users (id, email, username, password_hash, role, date_of_birth)
            VALUES (p_user_id, 'remote-' || replace(p_user_id::text, '-', '') || '@shard.invalid', v_name,
                    ext.crypt(gen_random_uuid()::text, ext.gen_salt('bf', 4)), p_role::lp.user_role,
                    DATE '1900-01-01')
            ON CONFLICT (id) DO NOTHING;  -- a stub made at the same moment by another call
            INSERT INTO lp.remote_users (user_id, home_shard) VALUES (p_user_id, p_home_shard) ON CONFLICT DO NOTHING;
            RETURN;
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- the username is taken here: the next name
        END;
    END LOOP;
    RAISE EXCEPTION USING ERRCODE = 'LP016', MESSAGE = 'username is taken',
        DETAIL = format('no free username for the stub of user %s on shard %s', p_user_id, p_shard);
END
$$;
COMMENT ON FUNCTION shard.make_stub(integer, uuid, text, text, integer) IS 'Owner code: makes the stub of a user of shard p_home_shard when they have no row here (lp.users with their id, username and platform role, a placeholder address, an unusable password; lp.remote_users), and leaves an existing stub as it is, role included. A username a user or stub of this shard holds is replaced by remote_<23 hex digits of the id> (LP016 if that is taken too). LP201 for a user who lives here, or a home shard that is this one.';
REVOKE ALL ON FUNCTION shard.make_stub(integer, uuid, text, text, integer) FROM PUBLIC;

CREATE FUNCTION shard.ensure_user(p_shard integer, p_user_id uuid, p_username text, p_role text, p_home_shard integer)
RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The router's: a user of another shard is about to act here: their stub (shard.make_stub), its platform role
-- set to the one the router passes (the home shard's, as the router last saw it), which the router records in
-- router.stubs. With shard.stub_role (the router's api.set_user_role), the only writer of a stub's role after
-- it was made: the relay's paths only make stubs, so what router.stubs says a stub's role is stays true.
BEGIN
    PERFORM shard.here(p_shard);
    PERFORM shard.make_stub(p_shard, p_user_id, p_username, p_role, p_home_shard);
    UPDATE lp.users AS u SET role = p_role::lp.user_role
     WHERE u.id = p_user_id AND u.role IS DISTINCT FROM p_role::lp.user_role;
END
$$;
COMMENT ON FUNCTION shard.ensure_user(integer, uuid, text, text, integer) IS 'The router''s (router.ensure_user): makes the stub of a user of p_home_shard who acts here through the router when they have none (shard.make_stub), and sets its platform role to p_role, the home shard''s as the router last saw it. LP201 for a user who lives here.';
REVOKE ALL ON FUNCTION shard.ensure_user(integer, uuid, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.ensure_user(integer, uuid, text, text, integer) TO livepanty_router;

CREATE FUNCTION shard.stub_role(p_shard integer, p_user_id uuid, p_role text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The router's api.set_user_role changed the user's role on their home shard: their stub here, if they have
-- one, takes it at once (a demoted moderator or admin keeps no power here). True when a stub of theirs is here.
BEGIN
    PERFORM shard.here(p_shard);
    UPDATE lp.users AS u SET role = p_role::lp.user_role
     WHERE u.id = p_user_id AND u.role IS DISTINCT FROM p_role::lp.user_role
       AND EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id);
    RETURN EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_user_id);
END
$$;
COMMENT ON FUNCTION shard.stub_role(integer, uuid, text) IS 'The router''s, after api.set_user_role: the stub of p_user_id here (if any) takes the platform role p_role; users of this shard are left alone. True when a stub of theirs is here.';
REVOKE ALL ON FUNCTION shard.stub_role(integer, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.stub_role(integer, uuid, text) TO livepanty_router;


CREATE FUNCTION shard.erased_users(p_shard integer, p_after timestamptz)
RETURNS TABLE (user_id uuid, erased_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The users of this shard erased (or erased again by api.replay_erasure) after p_after (all when NULL), oldest
-- first: what livepanty-db shards sync-erasures carries to the directory and to their stubs on other shards.
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    SELECT e.user_id, greatest(e.erased_at, e.replayed_at) AS at
      FROM lp.erasures AS e
     WHERE greatest(e.erased_at, e.replayed_at) > coalesce(p_after, '-infinity')
       AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = e.user_id)
     ORDER BY at, e.user_id;
END
$$;
COMMENT ON FUNCTION shard.erased_users(integer, timestamptz) IS 'The users of this shard whose erasure (or its replay) is later than p_after (all when NULL), oldest first; read by livepanty-db shards sync-erasures.';
REVOKE ALL ON FUNCTION shard.erased_users(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.erased_users(integer, timestamptz) TO livepanty_router;

CREATE FUNCTION shard.forget_users(p_shard integer, p_user_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Users erased on their own shard: their stubs here lose what they carried and what they did here that names
-- them (the username, their tips' messages, the addresses they watched from, ...), exactly as the erasure did
-- on their own shard (lp.erase_personal_data: the same pseudonym, derived from the id). Users of this shard
-- and users without a stub here are left alone. Returns the stubs erased now (0 when run again).
DECLARE
    v_id uuid;
    v_n  integer := 0;
BEGIN
    PERFORM shard.here(p_shard);
    FOR v_id IN
        SELECT r.user_id FROM lp.remote_users AS r JOIN lp.users AS u ON u.id = r.user_id
         WHERE r.user_id = ANY (p_user_ids)
           AND u.username::text <> 'erased_' || left(replace(r.user_id::text, '-', ''), 16)
         ORDER BY r.user_id
    LOOP
        PERFORM lp.erase_personal_data(v_id);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shard.forget_users(integer, uuid[]) IS 'Erases the stubs of users erased on their own shard (lp.erase_personal_data on the stub: username, tip messages, viewing addresses, ...); users of this shard and users with no stub here are left alone. Returns how many stubs were erased now; idempotent.';
REVOKE ALL ON FUNCTION shard.forget_users(integer, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.forget_users(integer, uuid[]) TO livepanty_router;


CREATE FUNCTION shard.resident_keys(p_shard integer, p_user_ids uuid[], p_older_than interval)
RETURNS TABLE (user_id uuid, username text, role text, username_key text, email_key bytea)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The directory entry of users of this shard (not stubs) among p_user_ids registered more than p_older_than
-- ago: what livepanty-db shards adopt-orphans writes into the router's directory (the address only as the hash
-- the router keeps).
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    SELECT u.id, u.username::text, u.role::text, lower(u.username::text),
           sha256(convert_to(lower(btrim(u.email::text)), 'UTF8'))
      FROM lp.users AS u
     WHERE u.id = ANY (p_user_ids) AND u.created_at < now() - p_older_than
       AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id)
     ORDER BY u.id;
END
$$;
COMMENT ON FUNCTION shard.resident_keys(integer, uuid[], interval) IS 'For livepanty-db shards adopt-orphans: id, username, role and the directory keys (lower-case username, SHA-256 of the lower-case address) of the users of this shard among p_user_ids registered more than p_older_than ago.';
REVOKE ALL ON FUNCTION shard.resident_keys(integer, uuid[], interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.resident_keys(integer, uuid[], interval) TO livepanty_router;

CREATE FUNCTION shard.discard_orphan(p_shard integer, p_user_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- An orphan registration (on this shard, not in the directory) whose username or address another user holds
-- in the directory: nobody can log in to it, so its personal data is erased (lp.erase_personal_data; the row
-- stays, under the pseudonym derived from its id) when its wallet never moved a token. False, and nothing
-- changed, when it did: a person decides.
BEGIN
    PERFORM shard.here(p_shard);
    PERFORM 1 FROM lp.users AS u WHERE u.id = p_user_id FOR UPDATE;
    IF NOT FOUND OR EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'no such user lives on this shard',
            DETAIL = format('user %s', p_user_id);
    END IF;
    IF EXISTS (SELECT 1 FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id WHERE w.user_id = p_user_id) THEN
        RETURN false;
    END IF;
    PERFORM lp.erase_personal_data(p_user_id);
    PERFORM lp.audit('user.orphan_discarded', 'user', p_user_id::text, '{}'::jsonb);
    RETURN true;
END
$$;
COMMENT ON FUNCTION shard.discard_orphan(integer, uuid) IS 'For livepanty-db shards adopt-orphans: erases the personal data of an orphan registration whose username or address another user holds in the directory, if its wallet never moved a token (true); false and nothing changed otherwise. LP003 not a user of this shard.';
REVOKE ALL ON FUNCTION shard.discard_orphan(integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.discard_orphan(integer, uuid) TO livepanty_router;


-- The admin queues merged by the router (docs/scale-out.md, "Global reads"): every shard's page after a key
-- (RUN ON ALL), and the key of a cursor read on the shard that holds it. The acting user (a moderator or an
-- admin, with a stub on every shard) is proven by the router as for every routed call.

CREATE FUNCTION shard.review_queue_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_overdue_only boolean, p_reason text,
    p_source text, p_after_rank smallint, p_after_score integer, p_after_due timestamptz, p_after_at timestamptz,
    p_after_id uuid, p_limit integer
) RETURNS TABLE (
    case_id uuid, source text, target_type text, reason text, status text, priority text, priority_score integer,
    reporter_count integer, flag_count integer, confidence numeric, reported_user_id uuid, stream_id uuid,
    tip_id uuid, assigned_to uuid, claim_expires_at timestamptz, due_at timestamptz, overdue boolean,
    escalated_at timestamptz, created_at timestamptz, detector_precision numeric
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    RETURN QUERY SELECT * FROM lp.review_queue_page(p_status, p_overdue_only, p_reason, p_source, p_after_rank,
                                                   p_after_score, p_after_due, p_after_at, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION shard.review_queue_page(uuid, uuid, text, text, boolean, text, text, smallint, integer, timestamptz, timestamptz, uuid, integer) IS 'This shard''s page of the review queue after a key (lp.review_queue_page), as the acting moderator or admin: the router merges every shard''s page for api.review_queue.';
REVOKE ALL ON FUNCTION shard.review_queue_page(uuid, uuid, text, text, boolean, text, text, smallint, integer, timestamptz, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.review_queue_page(uuid, uuid, text, text, boolean, text, text, smallint, integer, timestamptz, timestamptz, uuid, integer) TO livepanty_router;

CREATE FUNCTION shard.case_key(p_shard integer, p_case_id uuid)
RETURNS TABLE (priority_rank smallint, priority_score integer, due_at timestamptz, created_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The queue key of a case (a page's cursor), on the shard that holds it; no row for an unknown case. Only the
-- router's login may call it, and it returns no content of the case.
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY SELECT r.priority_rank, r.priority_score, r.due_at, r.created_at FROM lp.reports AS r
                  WHERE r.id = p_case_id;
END
$$;
COMMENT ON FUNCTION shard.case_key(integer, uuid) IS 'The review-queue key (rank, score, due time, creation) of case p_case_id on this shard: the router''s cursor for api.review_queue.';
REVOKE ALL ON FUNCTION shard.case_key(integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.case_key(integer, uuid) TO livepanty_router;

CREATE FUNCTION shard.claim_candidate(p__user uuid, p__session uuid, p__via text)
RETURNS TABLE (shard integer, priority_rank smallint, priority_score integer, due_at timestamptz,
               created_at timestamptz, case_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The case api.claim_case would take here now (read only, nothing locked), as the acting moderator or admin:
-- the router asks every shard and claims on the one with the first case in queue order.
DECLARE
    v_me    uuid;
    v_admin boolean;
    v_decided_sanctions uuid[];
    v_decided_cases     uuid[];
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    v_me := lp.require_user('moderator', 'admin');
    v_admin := lp.current_user_role() = 'admin';
    -- (api.claim_case's filter: nor a case whose sanction's appeal the caller decided, lp.decided_appeal_of_case)
    v_decided_sanctions := ARRAY(SELECT a.sanction_id FROM lp.sanction_appeals AS a
                                  WHERE a.decided_by = v_me AND a.status IN ('granted', 'denied'));
    v_decided_cases := ARRAY(SELECT s.report_id FROM lp.user_sanctions AS s
                              WHERE s.id = ANY (v_decided_sanctions) AND s.report_id IS NOT NULL);
    RETURN QUERY
    SELECT (SELECT s.shard::integer FROM lp.shard_self AS s), r.priority_rank, r.priority_score, r.due_at,
           r.created_at, r.id
      FROM lp.reports AS r
     WHERE (r.status IN ('open', 'escalated') OR (r.status = 'in_review' AND r.claim_expires_at <= now()))
       AND r.reported_user_id IS DISTINCT FROM v_me
       AND NOT EXISTS (SELECT 1 FROM lp.report_filings AS f WHERE f.case_id = r.id AND f.reporter_id = v_me)
       AND NOT r.id = ANY (v_decided_cases)
       AND (r.sanction_id IS NULL OR NOT r.sanction_id = ANY (v_decided_sanctions))
       AND (v_admin OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                    WHERE u.id = r.reported_user_id
                                      AND u.role::text IN ('moderator', 'admin', 'compliance_officer')))
     ORDER BY r.priority_rank, r.priority_score DESC, r.due_at NULLS LAST, r.created_at, r.id
     LIMIT 1;
END
$$;
COMMENT ON FUNCTION shard.claim_candidate(uuid, uuid, text) IS 'The case api.claim_case would claim on this shard now for the acting moderator or admin (read only; no row when none): the router claims on the shard whose candidate comes first in queue order. LP002 other roles.';
REVOKE ALL ON FUNCTION shard.claim_candidate(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.claim_candidate(uuid, uuid, text) TO livepanty_router;

CREATE FUNCTION shard.pending_kyc_page(
    p__user uuid, p__session uuid, p__via text, p_after_submitted timestamptz, p_after_id uuid, p_limit integer
) RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    RETURN QUERY SELECT * FROM lp.pending_kyc_page(p_after_submitted, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION shard.pending_kyc_page(uuid, uuid, text, timestamptz, uuid, integer) IS 'This shard''s page of the verifications waiting for review after a key (lp.pending_kyc_page), as the acting admin: the router merges every shard''s page for api.list_pending_kyc.';
REVOKE ALL ON FUNCTION shard.pending_kyc_page(uuid, uuid, text, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.pending_kyc_page(uuid, uuid, text, timestamptz, uuid, integer) TO livepanty_router;


-- The fraud reaction to a chargeback across shards (lp.payout_hold_requests on the buyer's shard): the relay
-- claims the requests for a peer, applies each there exactly once, and marks them delivered.

CREATE FUNCTION shard.claim_hold_requests(p_shard integer, p_to_shard integer, p_limit integer)
RETURNS TABLE (id uuid, performer_id uuid, payment_id uuid, case_id uuid, tokens bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    WITH claimed AS (
        SELECT r.id FROM lp.payout_hold_requests AS r
         WHERE r.status = 'pending' AND r.to_shard = p_to_shard
         ORDER BY r.created_at, r.id
         LIMIT greatest(coalesce(p_limit, 100), 1)
           FOR UPDATE SKIP LOCKED
    ), counted AS (
        UPDATE lp.payout_hold_requests AS r SET attempts = r.attempts + 1
          FROM claimed AS c WHERE r.id = c.id
        RETURNING r.id, r.performer_id, r.payment_id, r.case_id, r.tokens, r.created_at
    )
    SELECT c.id, c.performer_id, c.payment_id, c.case_id, c.tokens FROM counted AS c ORDER BY c.created_at, c.id;
END
$$;
COMMENT ON FUNCTION shard.claim_hold_requests(integer, integer, integer) IS 'The relay''s claim of up to p_limit pending payout_hold requests for shard p_to_shard, oldest first, locked (SKIP LOCKED) until the relay''s transaction ends.';
REVOKE ALL ON FUNCTION shard.claim_hold_requests(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.claim_hold_requests(integer, integer, integer) TO livepanty_router;

CREATE FUNCTION shard.apply_hold_request(
    p_shard integer, p_from_shard integer, p_id uuid, p_performer_id uuid, p_payment_id uuid, p_case_id uuid,
    p_tokens bigint
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- On the performer's shard, exactly once per request id: a payout_hold pending the review of the buyer's fraud
-- case (on the buyer's shard). True when applied now, false when it was before. The request's own, as on one node
-- (lp.fraud_on_chargeback): a payout_hold the performer is under for another matter (a moderator's timed one,
-- another case's) does not stand in for it, since it may end or be lifted while this case is pending; and a
-- performer who deleted her account gets it all the same (her payouts requested before still wait for it).
DECLARE
    v_count    smallint := shard.here(p_shard);
    v_receipt  lp.payout_hold_receipts;
BEGIN
    IF p_from_shard IS NULL OR p_from_shard < 0 OR p_from_shard >= v_count OR p_from_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a peer shard',
            DETAIL = format('shard %s of %s, to shard %s', p_from_shard, v_count, p_shard);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_performer_id)
       OR EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_performer_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'the performer of a payout hold request does not live on this shard',
            DETAIL = format('request %s, user %s', p_id, p_performer_id);
    END IF;
    INSERT INTO lp.payout_hold_receipts (id, from_shard, performer_id)
    VALUES (p_id, p_from_shard, p_performer_id)
    ON CONFLICT (id) DO NOTHING
    RETURNING * INTO v_receipt;
    IF v_receipt.id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE lp.payout_hold_receipts AS r
       SET sanction_id = (lp.issue_sanction(p_performer_id, 'payout_hold',
                             format('Received %s tokens of charged-back payment %s in tips from shard %s, pending review of fraud case %s there',
                                    p_tokens, p_payment_id, p_from_shard, p_case_id),
                             NULL, NULL, NULL, p_deleted_ok => true)).id
     WHERE r.id = p_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION shard.apply_hold_request(integer, integer, uuid, uuid, uuid, uuid, bigint) IS 'The performer''s half of the fraud reaction to a chargeback on another shard, applied by the relay exactly once per request id (lp.payout_hold_receipts): a payout_hold (automated, open-ended, naming the payment and the buyer''s fraud case), whatever other payout_hold the performer is under and whether or not she deleted her account. True when applied now, false when applied before. LP199 for a performer who does not live here, LP201 for a bad peer.';
REVOKE ALL ON FUNCTION shard.apply_hold_request(integer, integer, uuid, uuid, uuid, uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.apply_hold_request(integer, integer, uuid, uuid, uuid, uuid, bigint) TO livepanty_router;

CREATE FUNCTION shard.close_hold_requests(p_shard integer, p_ids uuid[], p_error text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The relay's answer for requests it claimed: delivered (p_error NULL), or still pending with the error.
DECLARE
    v_n integer;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_error IS NULL THEN
        UPDATE lp.payout_hold_requests AS r SET status = 'delivered', delivered_at = now(), last_error = NULL
         WHERE r.id = ANY (p_ids) AND r.status = 'pending';
    ELSE
        UPDATE lp.payout_hold_requests AS r SET last_error = left(p_error, 500)
         WHERE r.id = ANY (p_ids) AND r.status = 'pending';
    END IF;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shard.close_hold_requests(integer, uuid[], text) IS 'Marks the payout_hold requests p_ids delivered (p_error NULL) or records why they are still pending; returns how many were pending.';
REVOKE ALL ON FUNCTION shard.close_hold_requests(integer, uuid[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.close_hold_requests(integer, uuid[], text) TO livepanty_router;

-- A dismissal of the buyer's fraud case lifts the payout_holds it asked of other shards (lp.payout_hold_lifts on
-- the buyer's shard, one per hold request): the relay claims the lifts for a peer whose hold request is
-- delivered (so a lift never arrives before its hold), applies each there exactly once, and marks them
-- delivered.

CREATE FUNCTION shard.claim_hold_lifts(p_shard integer, p_to_shard integer, p_limit integer)
RETURNS TABLE (id uuid, performer_id uuid, hold_request_id uuid, case_id uuid, reason text, lifted_by uuid,
               lifter_username text, lifter_role text, lifter_home smallint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Only a lift whose hold request was delivered: the hold request's receipt and sanction are committed on the
-- performer's shard before its request is marked delivered here (shard.close_hold_requests after
-- shard.apply_hold_request), so the lift finds them. A lift of a hold request still pending (the case dismissed
-- before the relay delivered the hold, or the hold refused there) waits for it; the relay delivers the hold
-- requests of a pair of shards before its lifts, so both usually go in one pass.
DECLARE
    v_ids uuid[];
BEGIN
    PERFORM shard.here(p_shard);
    WITH claimed AS (
        SELECT l.id FROM lp.payout_hold_lifts AS l
          JOIN lp.payout_hold_requests AS h ON h.id = l.hold_request_id
         WHERE l.status = 'pending' AND l.to_shard = p_to_shard AND h.status = 'delivered'
         ORDER BY l.created_at, l.id
         LIMIT greatest(coalesce(p_limit, 100), 1)
           FOR UPDATE OF l SKIP LOCKED
    ), counted AS (
        UPDATE lp.payout_hold_lifts AS l SET attempts = l.attempts + 1
          FROM claimed AS c WHERE l.id = c.id
        RETURNING l.id
    )
    SELECT array_agg(c.id) INTO v_ids FROM counted AS c;
    RETURN QUERY
    SELECT l.id, h.performer_id, l.hold_request_id, l.case_id, l.reason, l.lifted_by, u.username::text,
           u.role::text, coalesce(ru.home_shard, p_shard::smallint)
      FROM lp.payout_hold_lifts AS l
      JOIN lp.payout_hold_requests AS h ON h.id = l.hold_request_id
      LEFT JOIN lp.users AS u ON u.id = l.lifted_by
      LEFT JOIN lp.remote_users AS ru ON ru.user_id = l.lifted_by
     WHERE l.id = ANY (v_ids)
     ORDER BY l.created_at, l.id;
END
$$;
COMMENT ON FUNCTION shard.claim_hold_lifts(integer, integer, integer) IS 'The relay''s claim of up to p_limit pending payout_hold lifts for shard p_to_shard whose hold request was delivered, oldest first, locked (SKIP LOCKED) until the relay''s transaction ends, each with the performer, the hold request, the case and who dismissed it (username, role and home shard, for their stub on the target shard).';
REVOKE ALL ON FUNCTION shard.claim_hold_lifts(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.claim_hold_lifts(integer, integer, integer) TO livepanty_router;

CREATE FUNCTION shard.apply_hold_lift(
    p_shard integer, p_from_shard integer, p_id uuid, p_performer_id uuid, p_hold_request_id uuid, p_case_id uuid,
    p_reason text, p_lifted_by uuid, p_lifter_username text, p_lifter_role text, p_lifter_home integer
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- On the performer's shard, exactly once per lift id: the payout_hold that the hold request p_hold_request_id
-- issued here (its receipt names it) is lifted, as a dismissal lifts it on one node: revoked by the moderator
-- who dismissed the case (their stub made here when they have no row), audited sanction.revoke with the case and
-- the shard it lives on, a pending appeal of it closed as moot. Only that sanction: another case's payout_hold,
-- or a moderator's, stays; one a moderator lifted already stays as it is (already_lifted). A lift whose hold
-- request was not applied here (the relay never sends one: shard.claim_hold_lifts) is refused with LP199 and
-- stays pending at its shard, so it is applied after the hold, never recorded before it.
-- True when applied now, false when it was before.
DECLARE
    v_count   smallint := shard.here(p_shard);
    v_hold    lp.payout_hold_receipts;
    v_lifter  uuid := p_lifted_by;
    v_revoked lp.user_sanctions;
    v_outcome text;
BEGIN
    IF p_from_shard IS NULL OR p_from_shard < 0 OR p_from_shard >= v_count OR p_from_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a peer shard',
            DETAIL = format('shard %s of %s, to shard %s', p_from_shard, v_count, p_shard);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_performer_id)
       OR EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_performer_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'the performer of a payout hold lift does not live on this shard',
            DETAIL = format('lift %s, user %s', p_id, p_performer_id);
    END IF;
    -- One apply at a time per performer, so per lift (two relays overlap only after a claim's session died): the
    -- second waits here on the performer's row, then finds the receipt. The row lock of
    -- shard.apply_sanction_request (no application role can take it), before the sanction's row.
    PERFORM 1 FROM lp.users AS u WHERE u.id = p_performer_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM lp.payout_hold_lift_receipts AS r WHERE r.id = p_id) THEN
        RETURN false;
    END IF;
    SELECT r.* INTO v_hold FROM lp.payout_hold_receipts AS r
     WHERE r.id = p_hold_request_id AND r.from_shard = p_from_shard AND r.performer_id = p_performer_id;
    IF v_hold.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'the payout hold request of a lift was not applied on this shard',
            DETAIL = format('lift %s, hold request %s, user %s', p_id, p_hold_request_id, p_performer_id),
            HINT = 'The lift waits for its hold request (shard.claim_hold_lifts).';
    END IF;
    IF v_hold.sanction_id IS NULL THEN
        v_outcome := 'no_hold';
    ELSE
        -- The moderator, by their id: their stub when they live elsewhere and have none here yet (as
        -- shard.apply_sanction_request names the issuer); one whose row is gone on their shard is not named.
        IF v_lifter IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_lifter) THEN
            IF p_lifter_username IS NULL OR p_lifter_home IS NULL OR p_lifter_home = p_shard THEN
                v_lifter := NULL;
            ELSE
                PERFORM shard.make_stub(p_shard, v_lifter, p_lifter_username, p_lifter_role, p_lifter_home);
            END IF;
        END IF;
        -- The sanction's row locked, as api.revoke_sanction locks it: a moderator's lift at the same moment
        -- waits, and whichever comes second finds it lifted.
        PERFORM 1 FROM lp.user_sanctions AS s WHERE s.id = v_hold.sanction_id FOR UPDATE;
        UPDATE lp.user_sanctions AS s
           SET revoked_at = now(), revoked_by = v_lifter, revoke_reason = left(p_reason, 1000)
         WHERE s.id = v_hold.sanction_id AND s.revoked_at IS NULL
        RETURNING s.* INTO v_revoked;
        IF v_revoked.id IS NULL THEN
            v_outcome := 'already_lifted';
        ELSE
            v_outcome := 'lifted';
            PERFORM lp.audit('sanction.revoke', 'user', v_revoked.user_id::text,
                             jsonb_build_object('sanction_id', v_revoked.id, 'case_id', p_case_id,
                                                'case_shard', p_from_shard, 'lift_id', p_id,
                                                'reason', 'case dismissed'),
                             NULL, v_lifter);
            PERFORM lp.moot_appeal(v_revoked);  -- its pending appeal, if any, has nothing left to decide
        END IF;
    END IF;
    INSERT INTO lp.payout_hold_lift_receipts (id, from_shard, hold_receipt_id, case_id, sanction_id, outcome)
    VALUES (p_id, p_from_shard, v_hold.id, p_case_id, v_hold.sanction_id, v_outcome);
    RETURN true;
END
$$;
COMMENT ON FUNCTION shard.apply_hold_lift(integer, integer, uuid, uuid, uuid, uuid, text, uuid, text, text, integer) IS 'The performer''s half of a dismissal of a fraud case of another shard, applied by the relay exactly once per lift id (lp.payout_hold_lift_receipts): the payout_hold that the hold request issued here (lp.payout_hold_receipts.sanction_id) is revoked with the dismissal''s reason, by the moderator who dismissed the case (their stub made here when missing), audited sanction.revoke (case_id, case_shard), a pending appeal of it closed as moot (lp.moot_appeal); outcome already_lifted when a moderator lifted it before (left as it is), no_hold when the request issued none. No other sanction is touched. One apply at a time per performer (a row lock on the performer''s row). True when applied now, false when applied before. LP199 for a performer who does not live here or a hold request not applied here (the lift stays pending), LP201 for a bad peer.';
REVOKE ALL ON FUNCTION shard.apply_hold_lift(integer, integer, uuid, uuid, uuid, uuid, text, uuid, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.apply_hold_lift(integer, integer, uuid, uuid, uuid, uuid, text, uuid, text, text, integer) TO livepanty_router;

CREATE FUNCTION shard.close_hold_lifts(p_shard integer, p_ids uuid[], p_error text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The relay's answer for lifts it claimed: delivered (p_error NULL), or still pending with the error.
DECLARE
    v_n integer;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_error IS NULL THEN
        UPDATE lp.payout_hold_lifts AS l SET status = 'delivered', delivered_at = now(), last_error = NULL
         WHERE l.id = ANY (p_ids) AND l.status = 'pending';
    ELSE
        UPDATE lp.payout_hold_lifts AS l SET last_error = left(p_error, 500)
         WHERE l.id = ANY (p_ids) AND l.status = 'pending';
    END IF;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shard.close_hold_lifts(integer, uuid[], text) IS 'Marks the payout_hold lifts p_ids delivered (p_error NULL) or records why they are still pending; returns how many were pending.';
REVOKE ALL ON FUNCTION shard.close_hold_lifts(integer, uuid[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.close_hold_lifts(integer, uuid[], text) TO livepanty_router;

CREATE FUNCTION shard.holds_reset_token(p_token_hash bytea) RETURNS SETOF integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Asked on every shard at once (RUN ON ALL) with the token's hash, never the token: this shard's number when it
-- holds that password reset token (in any state: the shard's api.reset_password says which), no row otherwise.
BEGIN
    RETURN QUERY SELECT s.shard::integer FROM lp.shard_self AS s
                  WHERE EXISTS (SELECT 1 FROM lp.password_reset_tokens AS t WHERE t.token_hash = p_token_hash);
END
$$;
COMMENT ON FUNCTION shard.holds_reset_token(bytea) IS 'This shard''s number when it holds the password reset token whose hash is p_token_hash, else no row: the router routes api.reset_password there.';
REVOKE ALL ON FUNCTION shard.holds_reset_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.holds_reset_token(bytea) TO livepanty_router;

CREATE FUNCTION shard.holds_stream_key(p_key_hash bytea) RETURNS SETOF integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Asked on every shard at once (RUN ON ALL) with the ingest key's hash, never the key: this shard's number when
-- one of its live streams has that key, no row otherwise (api.check_stream_key answers only for live streams).
BEGIN
    RETURN QUERY SELECT s.shard::integer FROM lp.shard_self AS s
                  WHERE EXISTS (SELECT 1 FROM lp.streams AS st
                                 WHERE st.stream_key_hash = p_key_hash AND st.status = 'live'
                                   AND st.deleted_at IS NULL);
END
$$;
COMMENT ON FUNCTION shard.holds_stream_key(bytea) IS 'This shard''s number when one of its live streams has the ingest key whose hash is p_key_hash, else no row: the router routes api.check_stream_key there.';
REVOKE ALL ON FUNCTION shard.holds_stream_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.holds_stream_key(bytea) TO livepanty_router;

CREATE FUNCTION shard.holds_kyc_reference(p_provider text, p_reference text) RETURNS SETOF integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Asked on every shard at once (RUN ON ALL): this shard's number when it holds a verification with the
-- provider's reference, no row otherwise (the router routes api.apply_kyc_webhook there).
BEGIN
    RETURN QUERY SELECT s.shard::integer FROM lp.shard_self AS s
                  WHERE EXISTS (SELECT 1 FROM lp.kyc_verifications AS k
                                 WHERE k.provider = p_provider AND k.provider_reference = p_reference);
END
$$;
COMMENT ON FUNCTION shard.holds_kyc_reference(text, text) IS 'This shard''s number when it holds a verification with that provider and provider reference, else no row: the router routes api.apply_kyc_webhook there.';
REVOKE ALL ON FUNCTION shard.holds_kyc_reference(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.holds_kyc_reference(text, text) TO livepanty_router;

CREATE FUNCTION shard.kyc_webhook_shards(p_provider text, p_event_id text, p_reference text)
RETURNS TABLE (shard integer, logged boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
#variable_conflict use_column
-- Asked on every shard at once (RUN ON ALL) for api.apply_kyc_webhook: this shard's number when its event log
-- holds the provider's event (logged: a repeat, answered there whatever became of the reference since, e.g.
-- destroyed records) or one of its verifications holds the reference; no row otherwise. The arguments come
-- trimmed, as the shards store them.
BEGIN
    RETURN QUERY
    SELECT s.shard::integer,
           EXISTS (SELECT 1 FROM lp.kyc_webhook_events AS e WHERE e.provider = p_provider AND e.event_id = p_event_id)
      FROM lp.shard_self AS s
     WHERE EXISTS (SELECT 1 FROM lp.kyc_webhook_events AS e WHERE e.provider = p_provider AND e.event_id = p_event_id)
        OR EXISTS (SELECT 1 FROM lp.kyc_verifications AS k
                    WHERE k.provider = p_provider AND k.provider_reference = p_reference);
END
$$;
COMMENT ON FUNCTION shard.kyc_webhook_shards(text, text, text) IS 'This shard''s number when its log holds that provider event (logged true) or one of its verifications holds that provider reference (logged false), else no row: the router routes api.apply_kyc_webhook there (a logged event first).';
REVOKE ALL ON FUNCTION shard.kyc_webhook_shards(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.kyc_webhook_shards(text, text, text) TO livepanty_router;

CREATE FUNCTION shard.list_users_page(
    p__user uuid, p__session uuid, p__via text, p_role text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer, p_include_deleted boolean
) RETURNS SETOF api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    RETURN QUERY SELECT * FROM lp.list_users_page(p_role, p_after_created, p_after_id, p_limit, p_include_deleted);
END
$$;
COMMENT ON FUNCTION shard.list_users_page(uuid, uuid, text, text, timestamptz, uuid, integer, boolean) IS 'This shard''s page of its users after a key (lp.list_users_page), as the acting moderator or admin: the router merges every shard''s page for api.list_users.';
REVOKE ALL ON FUNCTION shard.list_users_page(uuid, uuid, text, text, timestamptz, uuid, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.list_users_page(uuid, uuid, text, text, timestamptz, uuid, integer, boolean) TO livepanty_router;

CREATE FUNCTION shard.cursor_time(p_shard integer, p_table text, p_id uuid) RETURNS timestamptz
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The time a merged listing of the router orders by, of the object a page's cursor names, on the shard that
-- holds it: a user's registration (api.list_users), a payment's or payout's creation (an admin's
-- api.list_payments / api.list_payouts of everyone's), a verification's submission (api.list_pending_kyc).
BEGIN
    PERFORM shard.here(p_shard);
    CASE p_table
        WHEN 'users' THEN RETURN (SELECT o.created_at FROM lp.users AS o WHERE o.id = p_id);
        WHEN 'payments' THEN RETURN (SELECT o.created_at FROM lp.payments AS o WHERE o.id = p_id);
        WHEN 'payouts' THEN RETURN (SELECT o.created_at FROM lp.payouts AS o WHERE o.id = p_id);
        WHEN 'kyc_verifications' THEN
            RETURN (SELECT o.submitted_at FROM lp.kyc_verifications AS o WHERE o.id = p_id);
        ELSE RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'not a listing the router merges',
                 DETAIL = format('table %L', p_table);
    END CASE;
END
$$;
COMMENT ON FUNCTION shard.cursor_time(integer, text, uuid) IS 'The ordering time of object p_id of lp.<p_table> on this shard, NULL when unknown: users (registration), payments and payouts (creation), kyc_verifications (submission); LP018 for another table. The router''s cursor of its merged listings (api.list_users, an admin''s api.list_payments / api.list_payouts of everyone''s, api.list_pending_kyc).';
REVOKE ALL ON FUNCTION shard.cursor_time(integer, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.cursor_time(integer, text, uuid) TO livepanty_router;

CREATE FUNCTION shard.payments_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer
) RETURNS SETOF lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    RETURN QUERY SELECT * FROM lp.payments_page(NULL, p_status, p_after_created, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION shard.payments_page(uuid, uuid, text, text, timestamptz, uuid, integer) IS 'This shard''s page of everyone''s payments after a key (lp.payments_page with no user named), as the acting admin: the router merges every shard''s page for an admin''s api.list_payments.';
REVOKE ALL ON FUNCTION shard.payments_page(uuid, uuid, text, text, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payments_page(uuid, uuid, text, text, timestamptz, uuid, integer) TO livepanty_router;

CREATE FUNCTION shard.payouts_page(
    p__user uuid, p__session uuid, p__via text, p_status text, p_after_created timestamptz, p_after_id uuid,
    p_limit integer
) RETURNS SETOF lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.act(-1, p__user, p__session, p__via);
    RETURN QUERY SELECT * FROM lp.payouts_page(NULL, p_status, p_after_created, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION shard.payouts_page(uuid, uuid, text, text, timestamptz, uuid, integer) IS 'This shard''s page of everyone''s payouts after a key (lp.payouts_page with no user named), as the acting admin: the router merges every shard''s page for an admin''s api.list_payouts.';
REVOKE ALL ON FUNCTION shard.payouts_page(uuid, uuid, text, text, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.payouts_page(uuid, uuid, text, text, timestamptz, uuid, integer) TO livepanty_router;

RESET ROLE;


-- A case resolved with a warning or sanction against a user of another shard (lp.sanction_requests on the
-- case's shard): the relay claims the requests for a peer, applies each there exactly once, and marks them
-- delivered.

CREATE FUNCTION shard.pending_sanction_requests(p_shard integer, p_ids uuid[])
RETURNS TABLE (id uuid, to_shard smallint, user_id uuid, case_id uuid, sanction_type text, reason text,
               ends_at timestamptz, issued_by uuid, issuer_username text, issuer_role text, issuer_home smallint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The one read of sanction requests for their target shard (the relay's claim and the router's delivery at
    -- once): the pending requests p_ids, oldest first, each with who issued it (username, role and home
    -- shard, for their stub on the target shard).
    SELECT r.id, r.to_shard, r.user_id, r.case_id, r.sanction_type::text, r.reason, r.ends_at, r.issued_by,
           u.username::text, u.role::text, coalesce(ru.home_shard, p_shard::smallint)
      FROM lp.sanction_requests AS r
      LEFT JOIN lp.users AS u ON u.id = r.issued_by
      LEFT JOIN lp.remote_users AS ru ON ru.user_id = r.issued_by
     WHERE r.id = ANY (p_ids) AND r.status = 'pending'
     ORDER BY r.created_at, r.id
$$;
COMMENT ON FUNCTION shard.pending_sanction_requests(integer, uuid[]) IS 'Owner only: the pending sanction requests p_ids of this shard (p_shard), oldest first, each with its target shard and who issued it (username, role, home shard); the read of shard.claim_sanction_requests and shard.sanction_request.';
REVOKE ALL ON FUNCTION shard.pending_sanction_requests(integer, uuid[]) FROM PUBLIC;

CREATE FUNCTION shard.claim_sanction_requests(p_shard integer, p_to_shard integer, p_limit integer)
RETURNS TABLE (id uuid, user_id uuid, case_id uuid, sanction_type text, reason text, ends_at timestamptz,
               issued_by uuid, issuer_username text, issuer_role text, issuer_home smallint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    PERFORM shard.here(p_shard);
    WITH claimed AS (
        SELECT r.id FROM lp.sanction_requests AS r
         WHERE r.status = 'pending' AND r.to_shard = p_to_shard
         ORDER BY r.created_at, r.id
         LIMIT greatest(coalesce(p_limit, 100), 1)
           FOR UPDATE SKIP LOCKED
    ), counted AS (
        UPDATE lp.sanction_requests AS r SET attempts = r.attempts + 1
          FROM claimed AS c WHERE r.id = c.id
        RETURNING r.id
    )
    SELECT array_agg(c.id) INTO v_ids FROM counted AS c;
    RETURN QUERY
    SELECT p.id, p.user_id, p.case_id, p.sanction_type, p.reason, p.ends_at, p.issued_by, p.issuer_username,
           p.issuer_role, p.issuer_home
      FROM shard.pending_sanction_requests(p_shard, v_ids) AS p;
END
$$;
COMMENT ON FUNCTION shard.claim_sanction_requests(integer, integer, integer) IS 'The relay''s claim of up to p_limit pending sanction requests for shard p_to_shard, oldest first, locked (SKIP LOCKED) until the relay''s transaction ends, each with who issued it (username, role and home shard, for their stub on the target shard).';
REVOKE ALL ON FUNCTION shard.claim_sanction_requests(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.claim_sanction_requests(integer, integer, integer) TO livepanty_router;

CREATE FUNCTION shard.sanction_request(p_shard integer, p_id uuid)
RETURNS TABLE (id uuid, to_shard smallint, user_id uuid, case_id uuid, sanction_type text, reason text,
               ends_at timestamptz, issued_by uuid, issuer_username text, issuer_role text, issuer_home smallint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY SELECT * FROM shard.pending_sanction_requests(p_shard, ARRAY[p_id]);
END
$$;
COMMENT ON FUNCTION shard.sanction_request(integer, uuid) IS 'The sanction request p_id while it is pending, as shard.claim_sanction_requests returns it (with its target shard), unlocked: the router delivers it at once (router.deliver_sanction_now); shard.apply_sanction_request is keyed by its id, so a relay that claims it meanwhile applies nothing twice.';
REVOKE ALL ON FUNCTION shard.sanction_request(integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.sanction_request(integer, uuid) TO livepanty_router;

CREATE FUNCTION shard.apply_sanction_request(
    p_shard integer, p_from_shard integer, p_id uuid, p_user_id uuid, p_case_id uuid, p_type text, p_reason text,
    p_ends_at timestamptz, p_issued_by uuid, p_issuer_username text, p_issuer_role text, p_issuer_home integer
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- On the reported user's shard, exactly once per request id: the warning or sanction a case of p_from_shard
-- decided (lp.issue_sanction, naming the moderator: their stub is made here when they have no row). A sanction
-- whose end passed before it arrived binds nothing (lapsed); a user deleted meanwhile neither (user_deleted), nor
-- a user who is staff here when the issuer is no admin (refused_staff).
-- True when applied now, false when it was before.
DECLARE
    v_count   smallint := shard.here(p_shard);
    v_outcome text;
    v_issuer  uuid := p_issued_by;
BEGIN
    IF p_from_shard IS NULL OR p_from_shard < 0 OR p_from_shard >= v_count OR p_from_shard = p_shard THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'not a peer shard',
            DETAIL = format('shard %s of %s, to shard %s', p_from_shard, v_count, p_shard);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id)
       OR EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'the user of a sanction request does not live on this shard',
            DETAIL = format('request %s, user %s', p_id, p_user_id);
    END IF;
    -- One apply at a time per user, so per request (two relays could overlap only after a claim's session died):
    -- the second waits here on the user's row, then finds the receipt. A row lock, not an advisory lock on a key
    -- anyone could compute and hold: no application role may lock a row of lp.users (no UPDATE privilege). The
    -- user's row first, as the lock order of lp.issue_sanction's callers has it (the user's row and sessions,
    -- then streams); FOR NO KEY UPDATE, which what key-shares the row (a tip's foreign key) does not wait for.
    PERFORM 1 FROM lp.users AS u WHERE u.id = p_user_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM lp.sanction_receipts AS r WHERE r.id = p_id) THEN
        RETURN false;
    END IF;
    -- The rule of api.sanction_user against the user's role as it is here, their home (the stub the case's shard
    -- checked may be stale): only an admin warns or sanctions a moderator or admin.
    v_outcome := CASE
        WHEN EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NOT NULL) THEN 'user_deleted'
        WHEN p_ends_at IS NOT NULL AND p_ends_at <= now() THEN 'lapsed'
        WHEN p_issuer_role IS DISTINCT FROM 'admin'
             AND EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.role::text IN ('moderator', 'admin'))
            THEN 'refused_staff'
        ELSE 'issued' END;
    -- The moderator, by their id: their stub when they live elsewhere and have none here yet. A moderator whose
    -- row is gone on their shard (NULL username) is not named (as ON DELETE SET NULL would leave it).
    IF v_issuer IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_issuer) THEN
        IF p_issuer_username IS NULL OR p_issuer_home IS NULL OR p_issuer_home = p_shard THEN
            v_issuer := NULL;
        ELSE
            PERFORM shard.make_stub(p_shard, v_issuer, p_issuer_username, p_issuer_role, p_issuer_home);
        END IF;
    END IF;
    INSERT INTO lp.sanction_receipts (id, from_shard, case_id, user_id, sanction_id, outcome)
    VALUES (p_id, p_from_shard, p_case_id, p_user_id,
            CASE WHEN v_outcome = 'issued'
                 THEN (lp.issue_sanction(p_user_id, p_type, p_reason, p_ends_at, NULL, v_issuer)).id END,
            v_outcome);
    RETURN true;
END
$$;
COMMENT ON FUNCTION shard.apply_sanction_request(integer, integer, uuid, uuid, uuid, text, text, timestamptz, uuid, text, text, integer) IS 'The reported user''s half of a case of another shard resolved with a warning or sanction, applied by the relay exactly once per request id (lp.sanction_receipts): lp.issue_sanction with the case''s rule as reason, naming the moderator (their stub made here when missing); outcome lapsed when its end passed before it arrived, user_deleted for an account deleted meanwhile, refused_staff when the user is a moderator or admin here and the issuer no admin (the rule of api.sanction_user, checked against the user''s role on their own shard): nothing issued then. One apply at a time per user (a row lock on the user''s row, which no application role can take; the receipt makes a second apply of the request return false). True when applied now, false when applied before. LP199 for a user who does not live here, LP201 for a bad peer.';
REVOKE ALL ON FUNCTION shard.apply_sanction_request(integer, integer, uuid, uuid, uuid, text, text, timestamptz, uuid, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.apply_sanction_request(integer, integer, uuid, uuid, uuid, text, text, timestamptz, uuid, text, text, integer) TO livepanty_router;

CREATE FUNCTION shard.close_sanction_requests(p_shard integer, p_ids uuid[], p_error text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The relay's answer for requests it claimed: delivered (p_error NULL), or still pending with the error.
DECLARE
    v_n integer;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_error IS NULL THEN
        UPDATE lp.sanction_requests AS r SET status = 'delivered', delivered_at = now(), last_error = NULL
         WHERE r.id = ANY (p_ids) AND r.status = 'pending';
    ELSE
        UPDATE lp.sanction_requests AS r SET last_error = left(p_error, 500)
         WHERE r.id = ANY (p_ids) AND r.status = 'pending';
    END IF;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shard.close_sanction_requests(integer, uuid[], text) IS 'Marks the sanction requests p_ids delivered (p_error NULL) or records why they are still pending; returns how many were pending.';
REVOKE ALL ON FUNCTION shard.close_sanction_requests(integer, uuid[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.close_sanction_requests(integer, uuid[], text) TO livepanty_router;


-- The decisions about a user in cases of other shards (api.my_case_decisions through the router merges them).

CREATE FUNCTION shard.case_decisions_about(p_user_id uuid, p_limit integer)
RETURNS TABLE (case_id uuid, target_type text, reason text, status text, action text, automated boolean, facts text,
               rule text, appeal text, sanction_id uuid, decided_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The cases of this shard about the stub of p_user_id (the user the router proved; on their own shard they are
-- no stub and this returns nothing: api.my_case_decisions there answers), as api.my_case_decisions returns them:
-- never the reporters.
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 500';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.remote_users AS ru WHERE ru.user_id = p_user_id) THEN
        RETURN QUERY SELECT * FROM lp.case_decisions_of(p_user_id, p_limit);
    END IF;
END
$$;
COMMENT ON FUNCTION shard.case_decisions_about(uuid, integer) IS 'This shard''s decisions in cases about the stub of p_user_id (a user of another shard), newest first, at most p_limit (1..500, LP018), as api.my_case_decisions returns them: the router merges them with the user''s own shard''s for api.my_case_decisions.';
REVOKE ALL ON FUNCTION shard.case_decisions_about(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.case_decisions_about(uuid, integer) TO livepanty_router;

CREATE FUNCTION shard.remote_case_sanctions(p_shard integer, p_user_id uuid)
RETURNS TABLE (case_id uuid, sanction_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY SELECT r.case_id, r.sanction_id FROM lp.sanction_receipts AS r
                  WHERE r.user_id = p_user_id AND r.sanction_id IS NOT NULL;
END
$$;
COMMENT ON FUNCTION shard.remote_case_sanctions(integer, uuid) IS 'On the user''s own shard: the sanctions issued here for cases of other shards about p_user_id (lp.sanction_receipts), by case: api.my_case_decisions through the router names them beside those cases'' decisions.';
REVOKE ALL ON FUNCTION shard.remote_case_sanctions(integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.remote_case_sanctions(integer, uuid) TO livepanty_router;


-- Co-performers of other shards (docs/scale-out.md, "Co-performers of other shards"): the go-live gate of a
-- stream here reads what their own shard says of them (lp.remote_gates), refreshed by the router.

CREATE FUNCTION shard.remote_cast(p_shard integer, p_stream_id uuid, p_key_hash bytea)
RETURNS TABLE (user_id uuid, home_shard smallint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY
    SELECT DISTINCT ru.user_id, ru.home_shard
      FROM lp.streams AS s
      JOIN lp.stream_performers AS sp ON sp.stream_id = s.id
      JOIN lp.remote_users AS ru ON ru.user_id = sp.performer_id
     WHERE s.deleted_at IS NULL
       -- Every live stream for the sweep (no stream named); the one named, scheduled or live.
       AND (s.status = 'live' OR (s.status = 'scheduled' AND (p_stream_id IS NOT NULL OR p_key_hash IS NOT NULL)))
       AND (p_stream_id IS NULL OR s.id = p_stream_id)
       AND (p_key_hash IS NULL OR s.stream_key_hash = p_key_hash)
     ORDER BY 1;
END
$$;
COMMENT ON FUNCTION shard.remote_cast(integer, uuid, bytea) IS 'The co-performers of this shard''s streams who live on other shards (stubs here), with their home shard: those of stream p_stream_id (scheduled or live), of the stream whose ingest key has hash p_key_hash, or (both NULL) of every live stream. The router asks their shards what they lack (shard.performer_gaps) and writes it here (shard.note_gates).';
REVOKE ALL ON FUNCTION shard.remote_cast(integer, uuid, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.remote_cast(integer, uuid, bytea) TO livepanty_router;

CREATE FUNCTION shard.performer_gaps(p_shard integer, p_user_ids uuid[])
RETURNS TABLE (user_id uuid, gaps text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM shard.here(p_shard);
    RETURN QUERY SELECT DISTINCT k.id, lp.performer_gaps(k.id) FROM unnest(p_user_ids) AS k (id)
                  WHERE k.id IS NOT NULL ORDER BY 1;
END
$$;
COMMENT ON FUNCTION shard.performer_gaps(integer, uuid[]) IS 'On their own shard: what each of p_user_ids lacks to be on camera (lp.performer_gaps: an active performer account, a valid identity verification, no sanction that forbids streaming; a user who does not live here: not an active performer). Read by the router for the go-live gate of a stream of another shard.';
REVOKE ALL ON FUNCTION shard.performer_gaps(integer, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.performer_gaps(integer, uuid[]) TO livepanty_router;

CREATE FUNCTION shard.note_gates(p_shard integer, p_gates jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The router writes what the co-performers' own shards said (p_gates: [{"user_id": ..., "gaps": [...]}]). Only
-- for stubs: a user of this shard is judged here, by lp.performer_gaps.
DECLARE
    v_n integer;
BEGIN
    PERFORM shard.here(p_shard);
    IF p_gates IS NULL OR jsonb_typeof(p_gates) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_gates is a JSON array of {user_id, gaps}';
    END IF;
    INSERT INTO lp.remote_gates AS g (user_id, gaps, checked_at)
    SELECT x.user_id, coalesce(ARRAY(SELECT jsonb_array_elements_text(x.gaps)), ARRAY[]::text[]), now()
      FROM jsonb_to_recordset(p_gates) AS x (user_id uuid, gaps jsonb)
     WHERE EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = x.user_id)
    ON CONFLICT (user_id) DO UPDATE SET gaps = excluded.gaps, checked_at = excluded.checked_at;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION shard.note_gates(integer, jsonb) IS 'The router records, for co-performers of this shard''s streams who live on other shards (stubs here), what their own shard says they lack to be on camera (lp.remote_gates, read by lp.go_live_gaps); entries for users who are no stub here are ignored. Returns how many were written. LP018 not a JSON array.';
REVOKE ALL ON FUNCTION shard.note_gates(integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shard.note_gates(integer, jsonb) TO livepanty_router;
