-- Privacy (issue 9, section 5): the right to erasure (api.request_erasure by the user through a fresh login,
-- api.erase_user by an admin), the erasure log and its replay (api.list_erasures, api.replay_erasure), the
-- retention purges (api.purge_personal_data) and the scrubbable append-only tables. Every refusal with its
-- SQLSTATE and nothing changed.
--
-- Acceptance: erin, rich in data (sessions from two addresses with a device, an anonymous failed login and a
-- reset request from her address whose e-mail bounced (the mailer's error quotes her address, also in an audit row
-- from before the error stopped being audited), preferences, KYC with a document reference, a payment, tips with
-- messages that name her (one for a menu item), a viewer row, her own stream with consent, a goal, a menu item
-- bought in her stream, tips received, a report she wrote, an appeal of a sanction, a payout, a block naming her
-- in its reason, her address in the reasons she gave for cancelling a goal, calling off a show and ending her
-- stream, in the rows and their events), asks for her erasure; then no text, citext, inet or jsonb column (or
-- array of them) of any table of schema lp, read from the catalog, holds her e-mail, username, display name,
-- user agent or any of her addresses, and api.verify_ledger finds nothing.
BEGIN;
SELECT plan(119);

-- Helpers of this file (SECURITY DEFINER where they read past RLS):
--   tests.places(needles)   every lp table.column (text, citext, inet, jsonb, arrays of them) holding a needle
--   tests.session_as(name)  act through the session whose token tests.put stored under that name (api.authenticate)
--   tests.state() / tests.rejects(sql, sqlstate, description): raises sqlstate and nothing changed
--   tests.fund(username, n)
--   tests.purge(category, limit)  api.purge_personal_data as the back office (livepanty_service)
CREATE FUNCTION tests.places(p_needles text[]) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_table  regclass;
    v_column name;
    v_found  boolean;
BEGIN
    FOR v_table, v_column IN
        SELECT c.oid::regclass, a.attname
          FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
          JOIN pg_type AS t ON t.oid = a.atttypid
         WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
           AND (t.oid IN ('text'::regtype, 'ext.citext'::regtype, 'inet'::regtype, 'jsonb'::regtype)
                OR t.typelem IN ('text'::regtype, 'ext.citext'::regtype, 'inet'::regtype, 'jsonb'::regtype))
         ORDER BY 1, 2
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s AS x, unnest($1) AS n (needle)
                                        WHERE strpos(lower(x.%I::text), lower(n.needle)) > 0)', v_table, v_column)
           INTO v_found USING p_needles;
        IF v_found THEN
            RETURN NEXT v_table::text || '.' || v_column;
        END IF;
    END LOOP;
END
$$;
CREATE FUNCTION tests.erin_needles() RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['erin.private@example.org', 'erin_secret', 'Erin Display', 'erin-agent/1.0', 'erin-phone',
                 '192.0.2.77', '2001:db8::77', '192.0.2.78', '192.0.2.79']
$$;
CREATE FUNCTION tests.session_as(p_name text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'livepanty_app', true);
    PERFORM api.authenticate(tests.get(p_name, 'token'));
    RETURN format('# acting through the session %s', p_name);
END
$$;
CREATE FUNCTION tests.purge(p_category text, p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    PERFORM set_config('role', 'livepanty_service', true);
    v_count := api.purge_personal_data(p_category, p_limit);
    PERFORM set_config('role', 'none', true);
    RETURN v_count;
END
$$;
CREATE FUNCTION tests.total(p_name text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.user_id = tests.id(p_name)
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', u.id, u.email, u.username, u.display_name, u.date_of_birth, u.deleted_at,
                                     u.password_hash), ';' ORDER BY u.id) FROM lp.users AS u),
        (SELECT string_agg(concat_ws(',', s.id, s.ip_address, s.user_agent, s.revoked_at), ';' ORDER BY s.id)
           FROM lp.auth_sessions AS s),
        (SELECT string_agg(concat_ws(',', t.id, t.message), ';' ORDER BY t.id) FROM lp.tips AS t),
        (SELECT string_agg(concat_ws(',', v.id, v.ip_address), ';' ORDER BY v.id) FROM lp.stream_viewers AS v),
        (SELECT string_agg(concat_ws(',', r.id, r.description, r.status), ';' ORDER BY r.id) FROM lp.reports AS r),
        (SELECT string_agg(concat_ws(',', k.id, k.document_front_url, k.verified_date_of_birth), ';' ORDER BY k.id)
           FROM lp.kyc_verifications AS k),
        (SELECT string_agg(concat_ws(',', e.id, e.user_id, e.kyc_destroyed_at, e.replayed_at), ';' ORDER BY e.id)
           FROM lp.erasures AS e),
        'reset tokens ' || (SELECT count(*) FROM lp.password_reset_tokens),
        'events ' || (SELECT count(*) FROM lp.stream_events),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'audit ' || (SELECT count(*) FROM lp.audit_logs),
        'audit ips ' || (SELECT count(a.ip_address) FROM lp.audit_logs AS a))
$$;
CREATE FUNCTION tests.erasure(p_user_id uuid) RETURNS lp.erasures
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT e.* FROM lp.erasures AS e WHERE e.user_id = p_user_id
$$;

-- == Fixture ================================================================================================
DO $$
DECLARE
    v_payment  uuid;
    v_sanction uuid;
    v_kyc      uuid;
    v_transfer uuid;
    v_tx       uuid;
BEGIN
    PERFORM api.register_user('erin.private@example.org', 'erin_secret', tests.password(), DATE '1991-02-03',
                              'performer', 'Erin Display', 'DE', '192.0.2.77');
    PERFORM tests.remember('erin', tests.user_id('erin_secret'));  -- her username goes with the erasure
    PERFORM tests.create_user('paul', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.remember('olga', tests.create_user('olga'));
    PERFORM tests.create_user('rita');
    PERFORM tests.remember('mona', tests.create_user('mona', 'moderator'));
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('paul');
    -- Her identity verification, with a stage name, approved.
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, document_front_url,
                                      verified_date_of_birth, legal_name_encrypted)
    VALUES (tests.id('erin'), 'identity', 'submitted', 'passport', 'DE', 's3://kyc-docs/erin-front.jpg',
            DATE '1991-02-03', '\x0102'::bytea)
    RETURNING id INTO v_kyc;
    INSERT INTO lp.kyc_aliases (verification_id, alias) VALUES (v_kyc, 'Velvet Voice');
    UPDATE lp.kyc_verifications SET status = 'approved', reviewed_at = now(), expires_at = now() + interval '1 year'
     WHERE id = v_kyc;
    PERFORM tests.fund('erin_secret', 1000);
    PERFORM tests.fund('vic', 5000);
    -- Two sessions (an IPv4 one with a device, an IPv6 one), a failed login of an unknown name and a reset
    -- request, both from her address.
    PERFORM tests.put('erin', api.login('erin_secret', tests.password(), '192.0.2.77', 'erin-agent/1.0',
                                        '{"device": "erin-phone"}'));
    PERFORM tests.put('erin6', api.login('erin.private@example.org', tests.password(), '2001:db8::77'));
    PERFORM api.login('nobody_at_all', 'wrong', '192.0.2.77');
    PERFORM api.request_password_reset('erin.private@example.org', '192.0.2.78');
    -- The mailer fails to deliver it (will retry): the bounce quotes her address.
    PERFORM tests.authenticate_as(NULL, 'livepanty_mailer');
    PERFORM api.mark_message_failed(m.id, m.attempt, '550 5.1.1 <erin.private@example.org>: Recipient address rejected')
       FROM api.claim_messages(10) AS m WHERE m.email = 'erin.private@example.org';
    PERFORM tests.clear_authentication();
    -- An audit row api.mark_message_failed wrote before it stopped copying the error.
    INSERT INTO lp.audit_logs (action, target_type, target_id, details)
    SELECT 'outbox.failed', 'message', o.id::text,
           jsonb_build_object('kind', o.kind, 'user_id', o.user_id, 'attempt', 1, 'gave_up', false,
                              'error', '552 <erin.private@example.org>: mailbox full')
      FROM lp.outbox AS o WHERE o.user_id = tests.id('erin');
    PERFORM tests.put('olga', api.login('olga', tests.password(), '198.51.100.5'));

    PERFORM tests.authenticate_as('paul');
    PERFORM tests.remember('ps', (api.schedule_stream('Paul live')).id);
    PERFORM api.consent_to_stream(tests.id('ps'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('ps'));
    PERFORM tests.remember('pw', (api.set_menu_item('Wave', 25)).id);

    PERFORM tests.authenticate_as('erin_secret');
    PERFORM api.update_preferences(p_language => 'de', p_timezone => 'Europe/Berlin', p_marketing_emails => true);
    v_payment := (api.create_payment('small', 'stripe', 'pay-erin-1')).id;
    PERFORM api.join_stream(tests.id('ps'), '192.0.2.77');
    PERFORM api.tip(tests.user_id('paul'), 50, 'tip-erin-1', tests.id('ps'), 'hugs from erin_secret');
    PERFORM api.tip(tests.user_id('paul'), 25, 'tip-erin-2', tests.id('ps'), 'a wave for erin_secret please', false,
                    tests.id('pw'));
    PERFORM tests.remember('es', (api.schedule_stream('erin_secret live', p_tags => ARRAY['erin_secret'],
                                                      p_description => 'Erin Display on stage')).id);
    PERFORM api.consent_to_stream(tests.id('es'), '192.0.2.79', 'erin-agent/1.0');
    PERFORM api.start_stream(tests.id('es'));
    PERFORM tests.remember('em', (api.set_menu_item('erin_secret dance', 40)).id);
    PERFORM api.report('user', tests.user_id('vic'), 'harassment', 'vic keeps insulting erin_secret');
    PERFORM tests.remember('eg', (api.add_tip_goal(tests.id('es'), 500, 'erin_secret goal')).id);
    -- its category is hers too (a category is any slug the host writes, as a tag is)
    PERFORM tests.remember('es2', (api.schedule_stream('erin_secret next week', p_category => 'erin_secret')).id);
    PERFORM tests.authenticate_as('vic');
    PERFORM api.join_stream(tests.id('es'), '203.0.113.9');
    PERFORM api.tip(tests.id('erin'), 300, 'tip-vic-1', tests.id('es'), 'great show');
    PERFORM api.tip(tests.id('erin'), 40, 'tip-vic-2', tests.id('es'), NULL, false, tests.id('em'));
    -- paul blocks her, his reason naming her
    PERFORM tests.authenticate_as('paul');
    PERFORM api.block_viewer(tests.id('erin'), 'erin_secret floods my chat');
    -- Her own free-text reasons (public: the rows and their events), each naming her address: a goal she
    -- cancels, a show she calls off, her stream's end. The next goal is closed by the system ('stream ended').
    PERFORM tests.authenticate_as('erin_secret');
    PERFORM api.add_tip_goal(tests.id('es'), 800, 'erin_secret second goal');
    PERFORM api.cancel_tip_goal(tests.id('eg'), 'goal off, write to erin.private@example.org');
    PERFORM api.set_show_price('ticket', 100);
    PERFORM tests.remember('eshow', (api.offer_show(tests.id('es'), 'ticket')).id);
    PERFORM api.end_show(tests.id('eshow'), 'no show today, mail erin.private@example.org');
    PERFORM api.end_stream(tests.id('es'), 'bye, write to erin.private@example.org');
    -- A stream of hers an admin cancels: a staff member's reason, which stays.
    PERFORM tests.remember('es3', (api.schedule_stream('erin_secret special')).id);
    PERFORM tests.authenticate_as('adam');
    PERFORM api.end_stream(tests.id('es3'), 'cancelled by staff: rule 4.2');
    -- And one an admin ends live (staff's reason, as api.resolve_case's 'moderation: <rule>'): its event and
    -- audit row expire below, the row still says who ended it.
    PERFORM tests.authenticate_as('erin_secret');
    PERFORM tests.remember('es4', (api.schedule_stream('erin_secret encore')).id);
    PERFORM api.consent_to_stream(tests.id('es4'), '192.0.2.79', 'erin-agent/1.0');
    PERFORM api.start_stream(tests.id('es4'));
    PERFORM tests.remember('eg4', (api.add_tip_goal(tests.id('es4'), 100, 'erin_secret encore goal')).id);
    PERFORM tests.authenticate_as('adam');
    PERFORM api.cancel_tip_goal(tests.id('eg4'), 'off-topic: rule 3');
    PERFORM api.end_stream(tests.id('es4'), 'moderation: rule 4.2');
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.complete_payment(v_payment, 'ch_erin_1', 'complete-erin-1');
    PERFORM tests.clear_authentication();

    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status,
                            reviewed_by, reviewed_at, paid_at, idempotency_key)
    SELECT tests.id('erin'), k.id, 5000, 100, 5000, 'paypal', 'paid', tests.user_id('adam'), now(), now(), 'po-erin'
      FROM lp.kyc_verifications AS k WHERE k.user_id = tests.id('erin');
    -- An older report of hers, closed, from before the review queue's filings (its description on the case).
    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description, status, resolved_at)
    VALUES (tests.id('erin'), tests.user_id('vic'), 'spam', 'vic was rude to erin_secret', 'resolved', now());
    -- A warning she appealed (issue 9, section 3), her statement naming herself.
    INSERT INTO lp.user_sanctions (id, user_id, sanction_type, reason, issued_by)
    VALUES (gen_random_uuid(), tests.id('erin'), 'warning', 'spam in tip messages', tests.user_id('mona'))
    RETURNING id INTO v_sanction;
    INSERT INTO lp.sanction_appeals (sanction_id, user_id, statement)
    VALUES (v_sanction, tests.id('erin'), 'I am erin_secret and I did nothing wrong');
    -- a cross-shard tip of hers with a message (the outbox of a sharded installation, docs/scale-out.md): the
    -- outbox row and its ledger transaction as shard.tip_out writes them (verify_ledger checks the one against the
    -- other), with the in-transit wallet of shard 1 that shard.configure would make
    INSERT INTO lp.wallets (kind, system_code, shard_count) VALUES ('system', 'transit_1', 1);
    INSERT INTO lp.wallet_shards (wallet_id, shard) SELECT w.id, 1 FROM lp.wallets AS w WHERE w.system_code = 'transit_1';
    v_transfer := gen_random_uuid();
    v_tx := gen_random_uuid();
    PERFORM lp.post(v_tx, 'transfer', v_transfer,
                    ARRAY[ROW(tests.wallet('erin_secret'), -20, 'tip', 0, false)::lp.posting,
                          ROW(lp.system_wallet('platform_fees'), 4, 'tip_fee', 0, false)::lp.posting,
                          ROW(lp.system_wallet('transit_1'), 16, 'transfer', 0, false)::lp.posting]);
    INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount, message,
                                  idempotency_key, transaction_id, status, delivered_at)
    VALUES (v_transfer, tests.id('erin'), gen_random_uuid(), 1, 20, 4, 'far hugs from erin_secret',
            'transfer-erin-1', v_tx, 'delivered', now());
END
$$;

SELECT ok(ARRAY(SELECT tests.places(tests.erin_needles())) @> ARRAY['lp.users.email', 'lp.auth_sessions.ip_address',
              'lp.tips.message', 'lp.stream_events.payload', 'lp.audit_logs.ip_address', 'lp.streams.title',
              'lp.stream_consents.ip_address', 'lp.reports.description', 'lp.sanction_appeals.statement',
              'lp.report_filings.description', 'lp.transfers_out.message',
              'lp.outbox.email', 'lp.stream_viewers.ip_address', 'lp.password_reset_tokens.requested_ip',
              'lp.streams.end_reason', 'lp.shows.end_reason', 'lp.tip_goals.close_reason'],
          'fixture: erin''s personal data is in every place the scan should then find empty');
SELECT is((SELECT count(*)::integer FROM api.verify_ledger()), 0, 'fixture: the ledger is clean');
SELECT results_eq($$SELECT s.title, s.status::text, s.ended_by FROM lp.streams AS s
                     WHERE s.host_id = tests.id('erin') ORDER BY s.title$$,
                  $$VALUES ('erin_secret encore', 'ended', 'admin'), ('erin_secret live', 'ended', 'host'),
                           ('erin_secret next week', 'scheduled', NULL), ('erin_secret special', 'cancelled', 'admin')$$,
                  'lp.close_stream keeps who ended or cancelled a stream on its row (ended_by), NULL while scheduled');
-- Time passes: es4's stream_ended event is purged (events.retention_days) and the month of its stream.end audit
-- row and of eg4's goal.cancel audit row archived (api.archive_detach drops the partition). es3 stands for a stream ended before migration 0052
-- whose row does not say who ended it: its audit row still does.
SET LOCAL session_replication_role = replica;  -- as the superuser: the append-only triggers are off
DELETE FROM lp.stream_events WHERE stream_id = tests.id('es4') AND kind = 'stream_ended';
DELETE FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('es4')::text;
DELETE FROM lp.audit_logs WHERE action = 'goal.cancel' AND target_id = tests.id('eg4')::text;
SET LOCAL session_replication_role = origin;
UPDATE lp.streams SET ended_by = NULL WHERE id = tests.id('es3');
SELECT throws_ok($$UPDATE lp.streams SET ended_by = 'host' WHERE id = tests.id('es2')$$, '23514', NULL,
                 'lp.streams: ended_by is NULL while the stream is scheduled or live (CHECK)');
SELECT throws_ok($$UPDATE lp.streams SET ended_by = 'viewer' WHERE id = tests.id('es')$$, '23514', NULL,
                 'lp.streams: ended_by is host, admin or gate (CHECK)');

-- == Deny ===================================================================================================
SELECT tests.clear_authentication();
SELECT set_config('role', 'livepanty_app', true);
SELECT * FROM tests.rejects($$SELECT api.request_erasure()$$, 'LP001', 'request_erasure: nobody acting is LP001');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'x')$$, tests.id('erin')), 'LP001',
                            'erase_user: nobody acting is LP001');
SELECT tests.session_as('olga');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'I want her gone')$$, tests.id('erin')),
                            'LP002', 'erase_user: another (non-staff) user cannot erase erin: LP002');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'moderators cannot')$$, tests.id('erin')),
                            'LP002', 'erase_user: a moderator is LP002 (admins only)');
-- The app login with a proven identity but no session of hers (as the back office acting in her name has).
SELECT tests.authenticate_as('erin_secret');
SELECT * FROM tests.rejects($$SELECT api.request_erasure('no session')$$, 'LP171',
                            'request_erasure: an identity without a session of the user (no login proof) is LP171');
SELECT tests.clear_authentication();
SELECT set_config('role', 'livepanty_service', true);
SELECT api.act_as(tests.id('erin'), 'ticket 42');
SELECT * FROM tests.rejects($$SELECT api.request_erasure('in her name')$$, 'LP171',
                            'request_erasure: the back office acting in her name (api.act_as) is LP171');
SELECT tests.clear_authentication();
UPDATE lp.auth_sessions SET created_at = now() - interval '11 minutes'
 WHERE id = (tests.get('erin6', 'session_id'))::uuid;
SELECT tests.session_as('erin6');
SELECT * FROM tests.rejects($$SELECT api.request_erasure()$$, 'LP171',
                            'request_erasure: a session opened 11 minutes ago (privacy.erasure_login_minutes 10) is LP171');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'staff')$$, tests.user_id('mona')), 'LP004',
                            'erase_user: a staff account is LP004 (demote it first)');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'who')$$, gen_random_uuid()), 'LP003',
                            'erase_user: an unknown user is LP003');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, '  ')$$, tests.user_id('olga')), 'LP018',
                            'erase_user: a blank reason is LP018');
SELECT tests.authenticate_as('rita');
SELECT api.create_payment('small', 'stripe', 'pay-rita-1');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'asked by mail')$$, tests.user_id('rita')), 'LP170',
                            'erase_user: a pending payment (money in flight) is LP170');
SELECT tests.clear_authentication();
SELECT set_config('role', 'livepanty_app', true);
SELECT throws_ok($$SELECT api.replay_erasure('{}')$$, '42501', NULL, 'replay_erasure: the app login may not call it');
SELECT throws_ok($$SELECT api.purge_personal_data('sessions')$$, '42501', NULL,
                 'purge_personal_data: the app login may not call it');
SELECT throws_ok($$SELECT * FROM api.list_erasures()$$, '42501', NULL, 'list_erasures: the app login may not call it');
SELECT throws_ok($$SELECT * FROM lp.erasures$$, '42501', NULL, 'lp.erasures: no application role reads the log');
SELECT tests.clear_authentication();

-- == Allow: erin asks through a fresh login =================================================================
SELECT tests.session_as('erin');
SELECT tests.put('erased', api.request_erasure('leaving'));
SELECT tests.clear_authentication();
SELECT is(tests.get('erased', 'via'), 'self', 'request_erasure: erin''s own request is logged (via self)');
SELECT is(tests.get('erased', 'requested_by'), tests.id('erin')::text, 'requested by herself');
SELECT results_eq($$SELECT r ->> 'category', (r ->> 'until')::timestamptz FROM jsonb_array_elements(tests.get('erased', 'retained')::jsonb) AS r$$,
                  $$VALUES ('financial_records', now() + interval '5 years'), ('identity_verification', now() + interval '5 years'),
                           ('consent_records', now() + interval '5 years')$$,
                  'request_erasure: the answer tells which categories are kept, until when (5 years, the settings)');
SELECT ok((SELECT bool_and(r ? 'why' AND r ? 'what') FROM jsonb_array_elements(tests.get('erased', 'retained')::jsonb) AS r),
          'and what each is and why it is kept');
SELECT is((SELECT (r ->> 'wallet_tokens')::bigint FROM jsonb_array_elements(tests.get('erased', 'retained')::jsonb) AS r
            WHERE r ->> 'category' = 'financial_records'), tests.total('erin'),
          'and how many tokens stay in her closed account''s wallet');
SELECT is((tests.erasure(tests.id('erin'))).kyc_retained_until, now() + interval '5 years', 'the KYC records are due for destruction in 5 years');

-- Acceptance: nothing of hers is findable anywhere, the ledger is clean.
SELECT is_empty($$SELECT tests.places(tests.erin_needles())$$,
                'acceptance: no text, citext, inet or jsonb column of any lp table holds her e-mail, username, names, device or addresses');
SELECT is((SELECT count(*)::integer FROM api.verify_ledger()), 0, 'acceptance: api.verify_ledger is clean after the erasure');
SELECT ok(tests.sound(), 'every transaction still sums to zero, every balance matches its ledger');
SELECT is((SELECT count(*)::integer FROM lp.auth_sessions WHERE user_id = tests.id('erin') AND revoked_at IS NULL), 0,
          'every session of hers is revoked');
SELECT results_eq($$SELECT date_of_birth, deleted_at IS NOT NULL, display_name IS NULL FROM lp.users WHERE id = tests.id('erin')$$,
                  $$VALUES (DATE '1900-01-01', true, true)$$, 'the account row stays, emptied: no date of birth, no name, closed');
SELECT results_eq($$SELECT language, timezone, marketing_emails FROM lp.user_preferences WHERE user_id = tests.id('erin')$$,
                  $$VALUES ('en', 'UTC', false)$$, 'her preferences are back to the defaults');
SELECT results_eq($$SELECT count(*)::integer, sum(amount)::bigint, count(message)::integer FROM lp.tips WHERE sender_id = tests.id('erin')$$,
                  $$VALUES (2, 75::bigint, 0)$$, 'financial records stay: her tips are still there (without their messages)');
SELECT is((SELECT string_agg(message, ',') FROM lp.tips WHERE sender_id = tests.user_id('vic')), 'great show',
          'a tip someone else sent her keeps its sender''s message');
SELECT is_empty($$SELECT e.id FROM lp.stream_events AS e WHERE e.payload ->> 'sender_id' = tests.id('erin')::text
                    AND e.payload ->> 'message' IS NOT NULL$$,
                'no stream event keeps a message of hers: a plain tip''s nor a menu item''s (what any viewer reads)');
SELECT is_empty(format($$SELECT e.id FROM lp.stream_events AS e WHERE e.stream_id = %L AND e.payload ? 'item'$$, tests.id('es')),
                'the menu items bought in her stream no longer name her item in its events');
SELECT is_empty($$SELECT a.id FROM lp.audit_logs AS a WHERE a.action = 'outbox.failed' AND a.details ? 'error'
                    AND a.details ->> 'user_id' = tests.id('erin')::text$$,
                'no audit row keeps the mailer''s error about her e-mail (which quoted her address)');
SELECT results_eq($$SELECT action, details ? 'reason' FROM lp.audit_logs
                     WHERE action IN ('stream.block', 'auth.act_as') AND target_id = tests.id('erin')::text ORDER BY action$$,
                  $$VALUES ('auth.act_as', false), ('stream.block', false)$$,
                  'free-text reasons about her lose the reason: paul''s block, the back office''s act_as (the rows stay)');
SELECT is((SELECT string_agg(DISTINCT details ->> 'reason', ',') FROM lp.audit_logs WHERE action = 'auth.login_failed'),
          'unknown_login', 'a fixed reason code stays (the anonymous failed login from her address)');
SELECT results_eq($$SELECT k.document_type::text, k.legal_name_encrypted IS NOT NULL, a.alias
                     FROM lp.kyc_verifications AS k JOIN lp.kyc_aliases AS a ON a.verification_id = k.id
                    WHERE k.user_id = tests.id('erin')$$,
                  $$VALUES ('passport', true, 'Velvet Voice')$$,
                  'her KYC record is kept (legal retention): document, encrypted legal name, stage name');
SELECT results_eq($$SELECT status::text, title, stream_key_hash IS NULL FROM lp.streams WHERE host_id = tests.id('erin') ORDER BY status::text$$,
                  $$VALUES ('cancelled', 'erased', true), ('cancelled', 'erased', true), ('ended', 'erased', true),
                           ('ended', 'erased', true)$$,
                  'her streams: content erased, no ingest key, the scheduled one cancelled');
SELECT results_eq($$SELECT s.id = tests.id('es'), s.end_reason FROM lp.streams AS s
                     WHERE s.id IN (tests.id('es'), tests.id('es3')) ORDER BY 1$$,
                  $$VALUES (false, 'cancelled by staff: rule 4.2'), (true, NULL)$$,
                  'the end reason she wrote for her stream is gone; an admin''s reason for cancelling another stays'
                  || ' (a row from before 0052, ended_by NULL: its stream.end audit row says admin)');
SELECT results_eq($$SELECT end_reason, ended_by FROM lp.streams WHERE id = tests.id('es4')$$,
                  $$VALUES ('moderation: rule 4.2', 'admin')$$,
                  'an admin''s reason for ending her stream stays after its stream_ended event and stream.end audit row'
                  || ' expired: the row says who ended it');
SELECT results_eq($$SELECT ended_by FROM lp.streams WHERE id = tests.id('es2')$$, $$VALUES ('gate')$$,
                  'the scheduled stream her erasure cancelled says the system did (ended_by gate)');
SELECT results_eq($$SELECT status::text, ended_by, end_reason FROM lp.shows WHERE id = tests.id('eshow')$$,
                  $$VALUES ('cancelled', 'host', NULL::text)$$, 'the reason she gave for calling off her show is gone (the row stays)');
SELECT results_eq($$SELECT description, status::text, close_reason, closed_by FROM lp.tip_goals WHERE stream_id = tests.id('es') ORDER BY position$$,
                  $$VALUES ('erased', 'cancelled', NULL::text, 'host'), ('erased', 'missed', 'stream ended', 'system')$$,
                  'the reason she gave for cancelling her goal is gone; the system''s code for the goal her stream''s end closed stays');
SELECT results_eq($$SELECT description, status::text, close_reason, closed_by FROM lp.tip_goals WHERE id = tests.id('eg4')$$,
                  $$VALUES ('erased', 'cancelled', 'off-topic: rule 3', 'admin')$$,
                  'an admin''s reason for cancelling her goal stays after its goal.cancel audit row expired: the row says who cancelled it');
SELECT results_eq(format($$SELECT kind::text, payload ->> 'reason', payload ? 'reason' FROM lp.stream_events
                            WHERE stream_id = %L AND kind IN ('stream_ended', 'show_ended', 'goal_cancelled', 'goal_missed')
                            ORDER BY kind::text$$, tests.id('es')),
                  $$VALUES ('goal_cancelled', NULL::text, false), ('goal_missed', 'stream ended', true),
                           ('show_ended', NULL, false), ('stream_ended', NULL, false)$$,
                  'the events every viewer reads no longer carry her reasons (the system''s code stays)');
SELECT is((SELECT array_agg(DISTINCT ip_address) FROM lp.stream_consents WHERE performer_id = tests.id('erin')),
          ARRAY['192.0.2.0'::inet], 'her consent records stay, their address cut to the network');
SELECT results_eq($$SELECT (api.login('erin_secret', tests.password())).success$$, $$VALUES (false)$$,
                  'she cannot log in any more');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, details ->> 'via', details ->> 'erasure_id' FROM lp.audit_logs WHERE action = 'user.erase'$$,
                  format('VALUES (%L::uuid, %L, %L)', tests.id('erin'), 'self', tests.get('erased', 'id')),
                  'audited (user.erase) with the erasure id, no erased value');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs WHERE ip_address = '198.51.100.5'), 1,
          'another user''s audit rows keep their addresses');

SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.erase_user(%L, 'again')$$, tests.id('erin')), 'LP004',
                            'erase_user: an erased user is LP004');
-- Admin path, also for an account deleted before (which cannot log in to ask itself).
SELECT tests.login_as('olga');  -- a user's own deletion wants a recent login
SELECT api.delete_user(NULL, 'moving abroad, mail me at olga@example.com');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format($$SELECT via, requested_by, reason FROM api.erase_user(%L, 'request by mail, ticket 7')$$, tests.user_id('olga')),
                  format('VALUES (%L, %L::uuid, %L)', 'admin', tests.user_id('adam'), 'request by mail, ticket 7'),
                  'erase_user: an admin erases a deleted account (via admin, with the reason)');
SELECT is_empty($$SELECT tests.places(ARRAY['olga@example.com', '198.51.100.5'])$$, 'and nothing of olga is findable');
-- A compliance officer handles data-subject requests too.
SELECT tests.clear_authentication();
SELECT tests.create_user('cora', 'compliance_officer');
SELECT tests.remember('val', tests.create_user('val'));
SELECT tests.authenticate_as('cora');
SELECT is((SELECT via FROM api.erase_user(tests.id('val'), 'data-subject request 12')), 'admin',
          'erase_user: a compliance officer may erase a user (the staff path)');
-- A staff account once deleted (it can no longer moderate; the last admin stays) may be erased.
SELECT tests.authenticate_as('adam');
SELECT api.delete_user(tests.user_id('mona'), 'left the company');
SELECT is((SELECT via FROM api.erase_user(tests.user_id('mona'), 'former moderator asked by mail')), 'admin',
          'erase_user: a deleted moderator''s account may be erased (her decisions stay, by id)');
SELECT is((SELECT details ->> 'reason' FROM lp.audit_logs WHERE action = 'user.delete' AND target_id = tests.id('mona')::text),
          'left the company', 'a staff member''s reason for a decision about her account stays (olga''s own reason did not)');
-- A performer on camera: the erasure takes her off the air.
SELECT tests.clear_authentication();
SELECT tests.remember('lily', tests.create_user('lily', 'performer'));
SELECT tests.approve_kyc('lily');
SELECT tests.authenticate_as('lily');
SELECT tests.remember('ls', (api.schedule_stream('Lily live')).id);
SELECT api.consent_to_stream(tests.id('ls'), '198.51.100.40');
SELECT api.start_stream(tests.id('ls'));
SELECT tests.authenticate_as('adam');
SELECT results_eq(format($$SELECT (erased ->> 'streams_ended')::integer FROM api.erase_user(%L, 'legal order')$$, tests.id('lily')),
                  $$VALUES (1)$$, 'erase_user: a performer who is live is taken off the air');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT status::text, title, end_reason FROM lp.streams WHERE id = tests.id('ls')$$,
                  $$VALUES ('ended', 'erased', 'account erased')$$,
                  'her stream ended, its title erased; the system''s reason code stays');
SELECT is((SELECT ended_by FROM lp.streams WHERE id = tests.id('ls')), 'gate', 'ended by the system (ended_by gate)');
SELECT tests.clear_authentication();

-- == The log and its replay =================================================================================
SELECT set_config('role', 'livepanty_service', true);
SELECT results_eq($$SELECT count(*)::integer FROM api.list_erasures()$$, $$VALUES (5)$$, 'list_erasures: the service reads the log');
SELECT is_empty($$SELECT e.* FROM api.list_erasures() AS e WHERE strpos(lower(e::text), 'erin_secret') > 0 OR strpos(e::text, '192.0.2') > 0$$,
                'the log holds no erased value');
SELECT results_eq(format($$SELECT outcome FROM api.replay_erasure(%L)$$, (SELECT to_jsonb(e) FROM api.list_erasures() AS e WHERE e.user_id = tests.id('olga'))),
                  $$VALUES ('already_applied')$$, 'replay_erasure: an erasure the database has is already applied');
SELECT * FROM tests.rejects($$SELECT api.replay_erasure('{"id": "x"}')$$, 'LP018', 'replay_erasure: not an exported row is LP018');
SELECT * FROM tests.rejects($$SELECT api.replay_erasure('{"id": "7e1c4d8e-3a5b-4f7e-9a0b-1c2d3e4f5a6b"}')$$, 'LP018',
                            'replay_erasure: a row without user or date is LP018');
SELECT results_eq(format($$SELECT outcome FROM api.replay_erasure(%L)$$,
                         jsonb_build_object('id', gen_random_uuid(), 'user_id', gen_random_uuid(), 'via', 'self', 'erased_at', now())),
                  $$VALUES ('user_absent')$$, 'replay_erasure: a user the restored database never had: only the log row returns');
SELECT tests.clear_authentication();

-- == Append-only tables stay append-only ====================================================================
SELECT throws_ok($$UPDATE lp.audit_logs SET ip_address = NULL WHERE ip_address IS NOT NULL$$, 'LP090', NULL,
                 'audit_logs: an UPDATE outside an erasure or purge is still LP090 (even the superuser)');
SELECT set_config('lp.scrub', 'forged', true);
SELECT throws_ok($$UPDATE lp.audit_logs SET ip_address = NULL WHERE ip_address IS NOT NULL$$, 'LP090', NULL,
                 'audit_logs: a forged scrub setting is LP090');
SELECT lp.begin_scrub();
SELECT throws_ok($$UPDATE lp.audit_logs SET action = 'x.y' WHERE id = (SELECT min(id) FROM lp.audit_logs)$$, 'LP090', NULL,
                 'audit_logs: even while scrubbing, a column other than ip_address and details is LP090');
SELECT throws_ok($$DELETE FROM lp.audit_logs WHERE id = (SELECT min(id) FROM lp.audit_logs)$$, 'LP090', NULL,
                 'audit_logs: even while scrubbing, DELETE is LP090');
SELECT throws_ok($$UPDATE lp.stream_consents SET consented_at = now() - interval '1 day'$$, 'LP090', NULL,
                 'stream_consents: while scrubbing, only ip_address and user_agent may change');
SELECT set_config('lp.scrub', '', true);

-- == Retention purges =======================================================================================
-- Make some rows due: paul's sessions ended long ago, old reset tokens, an old viewing, an old dismissed report.
UPDATE lp.auth_sessions SET created_at = now() - interval '100 days', last_seen_at = now() - interval '100 days',
                            expires_at = now() - interval '40 days'
 WHERE user_id IN (tests.user_id('vic'), tests.user_id('rita'));
INSERT INTO lp.auth_sessions (user_id, token_hash, ip_address, created_at, last_seen_at, expires_at)
SELECT tests.user_id('vic'), sha256(convert_to(g::text, 'UTF8')), '203.0.113.50', now() - interval '100 days',
       now() - interval '100 days', now() - interval '40 days'
  FROM generate_series(1, 5) AS g;
INSERT INTO lp.auth_sessions (user_id, token_hash, ip_address, created_at, last_seen_at, expires_at)
VALUES (tests.user_id('paul'), sha256('live'), '203.0.113.52', now() - interval '100 days', now(), now() + interval '1 day');
INSERT INTO lp.audit_logs (occurred_at, action, ip_address) VALUES (now() - interval '100 days', 'auth.login_failed', '203.0.113.53');
INSERT INTO lp.password_reset_tokens (user_id, token_hash, requested_ip, created_at, expires_at)
VALUES (tests.user_id('vic'), sha256('t1'), '203.0.113.51', now() - interval '100 days', now() - interval '99 days');
UPDATE lp.stream_viewers SET joined_at = now() - interval '100 days', last_heartbeat_at = now() - interval '100 days',
                             left_at = now() - interval '95 days';
INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description, status, resolved_at, created_at)
VALUES (tests.user_id('vic'), tests.user_id('paul'), 'spam', 'old and dismissed', 'dismissed', now() - interval '200 days',
        now() - interval '201 days');
SELECT tests.put('ledger', jsonb_build_object('n', (SELECT count(*) FROM lp.ledger)));
SELECT * FROM tests.rejects($$SELECT tests.purge('everything')$$, 'LP018', 'purge_personal_data: an unknown category is LP018');
SELECT * FROM tests.rejects($$SELECT tests.purge('sessions', 0)$$, 'LP018', 'purge_personal_data: a limit of 0 is LP018');
SELECT is(tests.purge('sessions', 2), 2, 'sessions: a batch deletes at most its limit');
SELECT is(tests.purge('sessions', 2), 2, 'sessions: the next batch goes on where it stopped');
SELECT cmp_ok(tests.purge('sessions', 100), '<', 100, 'sessions: the last batch is short');
SELECT is(tests.purge('sessions', 100), 0, 'sessions: then nothing is due');
SELECT is((SELECT count(*)::integer FROM lp.auth_sessions WHERE expires_at < now() - interval '30 days'), 0,
          'sessions: every session that ended more than privacy.session_retention_days ago is gone');
SELECT ok(EXISTS (SELECT 1 FROM lp.auth_sessions WHERE user_id = tests.user_id('paul')), 'sessions: a live session stays');
SELECT ok(EXISTS (SELECT 1 FROM lp.auth_sessions WHERE user_id = tests.id('erin')), 'sessions: a session revoked today stays');
SELECT ok(tests.purge('reset_tokens') >= 1, 'reset_tokens: old tokens are deleted');
SELECT is((SELECT count(*)::integer FROM lp.password_reset_tokens WHERE requested_ip = '203.0.113.51'), 0, 'reset_tokens: the old one is gone');
SELECT ok(tests.purge('viewer_rows') >= 1, 'viewer_rows: viewings that ended long ago are deleted');
SELECT is((SELECT count(*)::integer FROM lp.stream_viewers WHERE left_at < now() - interval '90 days'), 0, 'viewer_rows: none is left');
SELECT is(tests.purge('dismissed_reports'), 1, 'dismissed_reports: the old dismissed report is deleted');
INSERT INTO lp.outbox (kind, user_id, email, status, created_at, updated_at, sent_at)
VALUES ('password_reset', tests.user_id('vic'), 'vic@example.com', 'sent', now() - interval '40 days',
        now() - interval '40 days', now() - interval '40 days');
SELECT is(tests.purge('emails'), 1, 'emails: a message sent more than privacy.email_retention_days ago is deleted, with its address');
SELECT is((SELECT count(*)::integer FROM lp.outbox WHERE email = 'vic@example.com'), 0, 'emails: none is left');
SELECT is((SELECT count(*)::integer FROM lp.reports WHERE status = 'dismissed'), 0, 'dismissed_reports: none is left');
SELECT is(tests.purge('ip_addresses'), 2, 'ip_addresses: addresses older than privacy.ip_retention_days are nulled');
SELECT results_eq($$SELECT action, ip_address FROM lp.audit_logs WHERE occurred_at < now() - interval '90 days'$$,
                  $$VALUES ('auth.login_failed', NULL::inet)$$, 'ip_addresses: also in the (append-only) audit trail, the row stays');
SELECT results_eq($$SELECT ip_address FROM lp.auth_sessions WHERE user_id = tests.user_id('paul')$$, $$VALUES (NULL::inet)$$,
                  'ip_addresses: and in an old session that is still live');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs WHERE ip_address = '203.0.113.2'), 1,
          'ip_addresses: recent addresses stay');
SELECT is(tests.purge('kyc_records'), 0, 'kyc_records: nothing is due before kyc_retained_until');
UPDATE lp.erasures SET kyc_retained_until = now() - interval '1 second' WHERE user_id = tests.id('erin');
SELECT is(tests.purge('kyc_records'), 1, 'kyc_records: past its retention, her verification is destroyed');
SELECT results_eq($$SELECT document_front_url, verified_date_of_birth, document_country, status::text FROM lp.kyc_verifications
                     WHERE user_id = tests.id('erin')$$,
                  $$VALUES (NULL::text, NULL::date, NULL::text, 'approved'::text)$$,
                  'kyc_records: the personal content is gone, the fact of the verification stays');
SELECT isnt((tests.erasure(tests.id('erin'))).kyc_destroyed_at, NULL, 'kyc_records: the log records when');
SELECT is((SELECT count(*)::integer FROM lp.kyc_aliases AS a JOIN lp.kyc_verifications AS k ON k.id = a.verification_id
            WHERE k.user_id = tests.id('erin')), 0, 'kyc_records: her stage names are gone too');
-- A restored backup missed the destruction of lily's KYC records that happened after it: the replay does it.
SELECT set_config('role', 'livepanty_service', true);
SELECT results_eq(format($$SELECT outcome FROM api.replay_erasure(%L)$$,
                         (SELECT to_jsonb(e) || jsonb_build_object('kyc_destroyed_at', now()) FROM api.list_erasures() AS e
                           WHERE e.user_id = tests.id('lily'))),
                  $$VALUES ('kyc_destroyed')$$, 'replay_erasure: a KYC destruction the database missed is done (kyc_destroyed)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT count(*) > 0, count(document_country)::integer FROM lp.kyc_verifications WHERE user_id = tests.id('lily')$$,
                  $$VALUES (true, 0)$$, 'and her KYC records'' personal content is gone (the records stay)');
SELECT results_eq($$SELECT (details ->> 'purged')::integer FROM lp.audit_logs WHERE action = 'privacy.purge' AND target_id = 'sessions'
                     ORDER BY id$$, $$VALUES (2), (2), (1)$$, 'every purge batch that did something is audited with its count');
SELECT is((SELECT count(*) FROM lp.ledger)::text, tests.get('ledger', 'n'), 'the purges never touch the ledger');
SELECT is((SELECT count(*)::integer FROM api.verify_ledger()), 0, 'and api.verify_ledger is still clean');

SELECT * FROM finish();
ROLLBACK;
