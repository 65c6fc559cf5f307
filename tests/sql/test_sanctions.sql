-- Sanctions everywhere, with appeals (issue 9, section 3): each sanction type refuses the actions it forbids
-- (lp.sanction_types: mute a tip message, tip_block tips and holds, stream_block going live, payout_hold payout
-- requests and approvals, suspension and ban everything) and nothing else; an expired or revoked sanction refuses
-- nothing; a refusal changes nothing. lp.issue_sanction (automated or through api.sanction_user) ends the live
-- streams of a stream_block. Appeals: once per sanction, within appeals.window_days, decided by a moderator who
-- did not issue the sanction; granted lifts it, denied keeps it; the appellant reads the decision.
-- api.expire_sanctions sends an ended review_on_expiry suspension back to the review queue, once.
BEGIN;
SELECT plan(111);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.sanction(user, type[, by[, lasts[, review]]])  a sanction through lp.issue_sanction; returns its id
--   tests.lift(id) / tests.expire(id)                    revoke it / move it into the past (ended an hour ago)
--   tests.state()                                        everything a refusal must leave as it was
--   tests.rejects(query, code, description)              throws_ok + the state unchanged (two assertions)
--   tests.ready(host, title)                             a scheduled stream the host consented to; its id
CREATE FUNCTION tests.sanction(p_user text, p_type text, p_by text DEFAULT 'mona', p_lasts interval DEFAULT NULL,
                               p_review boolean DEFAULT false) RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (lp.issue_sanction(tests.user_id(p_user), p_type, 'test ' || p_type, now() + p_lasts, NULL,
                              tests.user_id(p_by), p_review)).id
$$;
CREATE FUNCTION tests.lift(p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.user_sanctions SET revoked_at = now(), revoked_by = tests.user_id('adam'), revoke_reason = 'lifted'
     WHERE id = p_id
$$;
CREATE FUNCTION tests.expire(p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.user_sanctions SET starts_at = now() - interval '2 hours', ends_at = now() - interval '1 hour'
     WHERE id = p_id
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT count(*) FROM lp.tips), (SELECT count(*) FROM lp.holds), (SELECT count(*) FROM lp.ledger),
        (SELECT sum(w.balance) || ',' || sum(w.reserved) FROM lp.wallets AS w),
        (SELECT string_agg(p.status::text, ',' ORDER BY p.id) FROM lp.payouts AS p),
        (SELECT count(*) || ',' || count(revoked_at) FROM lp.user_sanctions),
        (SELECT string_agg(a.status::text, ',' ORDER BY a.id) FROM lp.sanction_appeals AS a),
        (SELECT string_agg(s.status::text, ',' ORDER BY s.id) FROM lp.streams AS s),
        (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.ready(p_host text, p_title text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title)).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.tip_many(p_user text, p_to text, p_key text, p_message text DEFAULT NULL) RETURNS text
    LANGUAGE sql AS $$
    SELECT error_code FROM api.tip_many(jsonb_build_array(jsonb_build_object(
        'session_token', tests.get(p_user, 'token'), 'recipient_id', tests.user_id(p_to), 'amount', 10,
        'idempotency_key', p_key, 'message', p_message)))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('paula', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.approve_kyc('paula');
    PERFORM tests.fund('vic', 100000);
    PERFORM tests.fund('wes', 1000);
    UPDATE lp.settings SET value = '0' WHERE key = 'payouts.hold_days';
END
$$;
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 20000, ''setup-paula'')', tests.user_id('paula')), 'setup: vic tips paula 20000 (16000 payable)');
SELECT tests.clear_authentication();

-- == issuing: api.sanction_user over lp.issue_sanction =======================================================
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.sanction_user(%L, 'mute', 'x')$$, tests.user_id('wes')), 'LP002', 'a viewer may not sanction');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.sanction_user(%L, 'tip_block', 'x', now() - interval '1 hour')$$, tests.user_id('vic')),
                            'LP018', 'an end in the past is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.sanction_user(%L, 'ban', 'x', NULL, NULL, true)$$, tests.user_id('vic')),
                            'LP018', 'review_on_expiry on a ban is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.sanction_user(%L, 'payout_hold', 'x')$$, tests.user_id('max')),
                            'LP002', 'a moderator may not sanction staff');
SELECT * FROM tests.rejects(format($$SELECT api.sanction_user(%L, 'nap', 'x')$$, tests.user_id('vic')), 'LP018', 'an unknown type is LP018');
SELECT is((api.sanction_user(tests.user_id('wes'), 'warning', 'be nice')).issued_by, tests.user_id('mona'),
          'a moderator warns wes (issued_by: the moderator)');
SELECT is(tests.audits('sanction.issue', tests.user_id('wes')), 1::bigint, 'audited sanction.issue');
SELECT tests.clear_authentication();
SELECT is((lp.issue_sanction(tests.user_id('wes'), 'warning', 'detector', NULL, NULL, NULL)).issued_by, NULL,
          'an automated sanction has no issuer');
SELECT is((SELECT row(actor_id, details ->> 'automated')::text FROM tests.last_audit('sanction.issue')), '(,true)',
          'and is audited with no actor, as automated');

-- == tips and tip messages (api.tip, api.tip_many) ==========================================================
SELECT tests.put('vic', api.login('vic', tests.password()));
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-1'', NULL, ''hi'')', tests.user_id('pia')), 'allow: vic, unsanctioned, tips with a message');
SELECT tests.remember('vic_warn', tests.sanction('vic', 'warning'));
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-2'', NULL, ''hi'')', tests.user_id('pia')), 'allow: a warning forbids nothing');
SELECT tests.remember('vic_mute', tests.sanction('vic', 'mute'));
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-3'')', tests.user_id('pia')), 'allow: muted, a tip without a message');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 't-4', NULL, 'hi')$$, tests.user_id('pia')), 'LP150',
                            'deny: muted, a tip with a message is LP150');
SELECT tests.clear_authentication();
SELECT is(tests.tip_many('vic', 'pia', 'tm-1', 'hi'), 'LP150', 'deny: muted, tip_many with a message is LP150');
SELECT is(tests.tip_many('vic', 'pia', 'tm-2'), NULL, 'allow: muted, tip_many without a message');
SELECT tests.lift(tests.id('vic_mute'));
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-5'', NULL, ''hi'')', tests.user_id('pia')), 'allow: the mute revoked, a message again');

SELECT tests.remember('vic_tb', tests.sanction('vic', 'tip_block'));
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 't-6')$$, tests.user_id('pia')), 'LP150', 'deny: tip_block, api.tip is LP150');
SELECT * FROM tests.rejects(format($$SELECT api.place_hold(%L, 10, 'h-1')$$, tests.user_id('pia')), 'LP150', 'deny: tip_block, api.place_hold is LP150');
SELECT tests.clear_authentication();
SELECT is(tests.tip_many('vic', 'pia', 'tm-3'), 'LP150', 'deny: tip_block, tip_many is LP150');
SELECT is((api.login('vic', tests.password())).success, true, 'allow: tip_block does not forbid login');
SELECT tests.authenticate_as('wes');
SELECT lives_ok(format('SELECT api.place_hold(%L, 10, ''h-2'')', tests.user_id('pia')), 'allow: wes, unsanctioned, places a hold');
SELECT tests.expire(tests.id('vic_tb'));
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-7'')', tests.user_id('pia')), 'allow: the tip_block expired, a tip');
SELECT lives_ok(format('SELECT api.place_hold(%L, 10, ''h-3'')', tests.user_id('pia')), 'allow: the tip_block expired, a hold');
SELECT tests.remember('vic_tb2', tests.sanction('vic', 'tip_block', 'mona', interval '1 day'));
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 't-8')$$, tests.user_id('pia')), 'LP150', 'deny: a timed tip_block in force is LP150');
SELECT tests.lift(tests.id('vic_tb2'));
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-9'')', tests.user_id('pia')), 'allow: the tip_block revoked, a tip');
SELECT tests.remember('vic_susp', tests.sanction('vic', 'suspension', 'mona', interval '1 day'));
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 't-10')$$, tests.user_id('pia')), 'LP022', 'deny: suspended, a tip is LP022');
SELECT * FROM tests.rejects(format($$SELECT api.place_hold(%L, 10, 'h-4')$$, tests.user_id('pia')), 'LP022', 'deny: suspended, a hold is LP022');
SELECT tests.clear_authentication();
SELECT is((api.login('vic', tests.password())).error_code, 'LP022', 'deny: suspended, login is LP022');
SELECT tests.lift(tests.id('vic_susp'));
SELECT is((api.login('vic', tests.password())).success, true, 'allow: the suspension revoked, login');

-- == going live (lp.go_live_gaps, api.start_stream) ========================================================
SELECT tests.remember('s1', tests.ready('pia', 'one'));
SELECT tests.remember('pia_sb', tests.sanction('pia', 'stream_block'));
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.start_stream(%L)', tests.id('s1')), 'LP120', 'deny: stream_block, going live is LP120');
SELECT tests.lift(tests.id('pia_sb'));
SELECT tests.remember('pia_tb', tests.sanction('pia', 'tip_block'));
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.start_stream(%L)', tests.id('s1')), 'allow: a tip_block (another type) and a revoked stream_block, pia goes live');
SELECT tests.authenticate_as('max');
SELECT is((api.sanction_user(tests.user_id('pia'), 'stream_block', 'off-platform payments', now() + interval '1 hour')).sanction_type::text,
          'stream_block', 'a moderator blocks pia from streaming while she is live');
SELECT tests.clear_authentication();
SELECT is((SELECT status::text || '|' || end_reason FROM lp.streams WHERE id = tests.id('s1')), 'ended|go-live gate',
          'the stream_block ended her live stream at once (publicly: the go-live gate)');
SELECT is((SELECT (details ->> 'streams_ended')::integer FROM tests.last_audit('sanction.issue')), 1, 'audited with the stream it ended');
SELECT tests.remember('s2', tests.ready('pia', 'two'));
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.start_stream(%L)', tests.id('s2')), 'LP120', 'deny: a timed stream_block in force is LP120');
SELECT tests.expire((SELECT id FROM lp.user_sanctions WHERE user_id = tests.user_id('pia') AND sanction_type = 'stream_block' AND revoked_at IS NULL));
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.start_stream(%L)', tests.id('s2')), 'allow: the stream_block expired, pia goes live');
SELECT tests.clear_authentication();

-- == payouts (api.request_payout, api.approve_payout) ======================================================
SELECT tests.authenticate_as('paula');
SELECT lives_ok($$SELECT api.request_payout(5000, 'paypal', 'p-1')$$, 'allow: paula, unsanctioned, requests a payout');
SELECT tests.remember('paula_tb', tests.sanction('paula', 'tip_block'));
SELECT tests.authenticate_as('paula');
SELECT lives_ok($$SELECT api.request_payout(5000, 'paypal', 'p-2')$$, 'allow: a tip_block (another type) does not stop a payout');
SELECT tests.remember('paula_ph', tests.sanction('paula', 'payout_hold', 'max'));
SELECT tests.authenticate_as('paula');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'p-3')$$, 'LP150', 'deny: payout_hold, a payout request is LP150');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.approve_payout(%L, 'ap-1')$$, (SELECT id FROM lp.payouts WHERE idempotency_key = 'p-1')),
                            'LP150', 'deny: payout_hold, approving her requested payout is LP150');
SELECT tests.expire(tests.id('paula_ph'));
SELECT tests.authenticate_as('adam');
SELECT is((api.approve_payout((SELECT id FROM lp.payouts WHERE idempotency_key = 'p-1'), 'ap-2')).status::text, 'approved',
          'allow: the payout_hold expired, the payout is approved');
SELECT tests.clear_authentication();

-- == appeals ===============================================================================================
SELECT tests.authenticate_as('mona');
SELECT tests.remember('ap_s', (api.sanction_user(tests.user_id('vic'), 'tip_block', 'card testing')).id);
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.appeal_sanction(%L, 'not me')$$, tests.id('ap_s')), 'LP003', 'deny: appealing someone else''s sanction is LP003');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.appeal_sanction(%L, '  ')$$, tests.id('ap_s')), 'LP018', 'deny: an empty statement is LP018');
SELECT tests.remember('ap', (api.appeal_sanction(tests.id('ap_s'), 'My card was stolen; the bank confirmed it.')).id);
SELECT is((SELECT status::text FROM lp.sanction_appeals WHERE id = tests.id('ap')), 'pending', 'allow: vic appeals his tip_block (pending)');
SELECT is(tests.audits('appeal.file', tests.id('ap_s')), 1::bigint, 'audited appeal.file');
SELECT * FROM tests.rejects(format($$SELECT api.appeal_sanction(%L, 'again')$$, tests.id('ap_s')), 'LP152', 'deny: a second appeal of the same sanction is LP152');
-- the window (appeals.window_days 14): 13 days after the start is in time, 15 is not
SELECT tests.clear_authentication();
SELECT tests.remember('old_s', tests.sanction('vic', 'mute', 'mona'));
SELECT tests.remember('late_s', tests.sanction('vic', 'warning', 'mona'));
UPDATE lp.user_sanctions SET starts_at = now() - interval '13 days', created_at = now() - interval '13 days' WHERE id = tests.id('old_s');
UPDATE lp.user_sanctions SET starts_at = now() - interval '15 days', created_at = now() - interval '15 days' WHERE id = tests.id('late_s');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.appeal_sanction(%L, 'late')$$, tests.id('late_s')), 'LP151', 'deny: after appeals.window_days is LP151');
SELECT tests.remember('ap2', (api.appeal_sanction(tests.id('old_s'), 'I only said hello')).id);
SELECT isnt(tests.id('ap2'), NULL, 'allow: within appeals.window_days');
SELECT * FROM tests.rejects(format($$SELECT api.appeal_sanction(%L, 'lifted')$$, tests.id('vic_tb2')), 'LP004', 'deny: appealing a lifted sanction is LP004');
SELECT is((SELECT count(*)::integer FROM lp.sanction_appeals), 2, 'RLS: vic reads his two appeals');
SELECT tests.authenticate_as('wes');
SELECT is((SELECT count(*)::integer FROM lp.sanction_appeals), 0, 'RLS: wes reads none');
SELECT throws_ok('SELECT decided_by FROM lp.sanction_appeals', '42501', NULL, 'the decider''s id is not granted to the application');
-- deciding: a moderator or admin who did not issue it
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, true, 'fine')$$, tests.id('ap')), 'LP002', 'deny: a viewer may not decide');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, true, 'fine')$$, tests.id('ap')), 'LP002', 'deny: the issuer may not decide the appeal');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('ap')), false, 'the issuer''s queue says she may not decide it');
SELECT tests.clear_authentication();
UPDATE lp.sanction_appeals SET created_at = now() - interval '1 minute' WHERE id = tests.id('ap');
SELECT tests.authenticate_as('max');
SELECT is((SELECT array_agg(appeal_id) FROM api.list_appeals()), ARRAY[tests.id('ap'), tests.id('ap2')], 'the pending queue, oldest first');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('ap')), true, 'another moderator may decide it');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, NULL, 'fine')$$, tests.id('ap')), 'LP018', 'deny: granted NULL is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, true, '')$$, tests.id('ap')), 'LP018', 'deny: no reasons is LP018');
SELECT is((api.decide_appeal(tests.id('ap'), true, 'The bank confirmed the card was stolen.')).status::text, 'granted',
          'allow: another moderator grants the appeal');
SELECT is((SELECT revoke_reason FROM lp.user_sanctions WHERE id = tests.id('ap_s')), 'appeal granted: The bank confirmed the card was stolen.',
          'a granted appeal lifts the sanction');
SELECT is(tests.audits('sanction.revoke', tests.user_id('vic')), 1::bigint, 'the lift is audited (sanction.revoke)');
SELECT is(tests.audits('appeal.decide', tests.id('ap_s')), 1::bigint, 'and the decision (appeal.decide)');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, false, 'changed my mind')$$, tests.id('ap')), 'LP004', 'deny: deciding twice is LP004');
SELECT is((api.decide_appeal(tests.id('ap2'), false, 'Repeated slurs in tip messages.')).status::text, 'denied', 'allow: max denies the other appeal');
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''t-11'')', tests.user_id('pia')), 'the granted appeal lifted the tip_block: vic tips');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 't-12', NULL, 'hey')$$, tests.user_id('pia')), 'LP150', 'the denied appeal kept the mute');
SELECT is((SELECT row(appeal_status, decision_reasons, decided_by_label IS NOT NULL)::text FROM api.my_sanctions(true) WHERE sanction_id = tests.id('ap_s')),
          '(granted,"The bank confirmed the card was stolen.",t)', 'vic reads the decision and its reasons (the moderator by label)');
SELECT is((SELECT row(in_force, forbids, appealable_until IS NULL)::text FROM api.my_sanctions() WHERE sanction_id = tests.id('old_s')),
          '(t,{message},t)', 'my_sanctions: the mute in force, what it forbids, no second appeal');
SELECT is((SELECT forbids FROM api.my_sanctions(true) WHERE sanction_id = tests.id('late_s')), '{}'::text[], 'a warning forbids nothing');
SELECT is((SELECT sanctions FROM api.user_summary), ARRAY['mute', 'warning'], 'api.user_summary: every sanction type in force on vic (the lifted and expired ones are not)');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects($$SELECT * FROM api.list_appeals('lost')$$, 'LP018', 'deny: an unknown status is LP018');
SELECT is((SELECT count(*)::integer FROM api.list_appeals(NULL)), 2, 'an admin lists every appeal');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT * FROM api.list_appeals()$$, 'LP002', 'deny: a viewer may not list the queue');
SELECT tests.clear_authentication();

-- == a suspension that ends back in review (api.expire_sanctions) ==========================================
SELECT tests.remember('wes_susp', tests.sanction('wes', 'suspension', 'mona', interval '1 day', true));
SELECT tests.remember('wes_plain', tests.sanction('wes', 'suspension', 'mona', interval '2 days'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 0, 'nothing to do while the suspension lasts');
SELECT tests.clear_authentication();
SELECT tests.expire(tests.id('wes_susp'));
SELECT tests.expire(tests.id('wes_plain'));
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects('SELECT api.expire_sanctions()', '42501', 'deny: the application may not run the job');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 1, 'allow: the ended review_on_expiry suspension is handled (the plain one lifts by itself)');
SELECT tests.clear_authentication();
SELECT isnt((SELECT expiry_case_id FROM lp.user_sanctions WHERE id = tests.id('wes_susp')), NULL, 'a review case was filed for wes');
SELECT is((SELECT r.reason::text || '|' || (r.reported_user_id = tests.user_id('wes'))::text FROM lp.reports AS r
             JOIN lp.user_sanctions AS s ON s.expiry_case_id = r.id WHERE s.id = tests.id('wes_susp')),
          'sanction_review|true', 'the case is in the review queue: reason sanction_review, the account of wes');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 0, 'idempotent: a second run files nothing');
SELECT tests.clear_authentication();
SELECT is((api.login('wes', tests.password())).success, true, 'the ended suspension no longer forbids login');

SELECT * FROM finish();
ROLLBACK;
