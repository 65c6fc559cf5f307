-- The one KYC gate (issue 9, section 1): lp.kyc_refusal, read from the cache lp.users.kyc_valid_until that the
-- triggers on lp.kyc_verifications keep. Allow and deny for going live (api.start_stream, api.check_stream_key),
-- earning (api.tip, api.tip_many, api.place_hold, api.capture_hold) and payouts (api.request_payout) with a
-- valid, a never-made and an expired verification; the job api.expire_kyc_approvals (document expiry, the
-- kyc.approval_valid_days period, idempotent rerun, live streams ended, audit counts, recomputed gates after a
-- change of the period); a new approval lifts the gate at once; nothing changes on a refusal; a catalog check
-- that every KYC gate goes through the helper.
BEGIN;
SELECT plan(62);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.live(host, title)   schedules, consents and starts a stream; returns its id
--   tests.scheduled(host, title)  schedules and consents (not started); returns its id
--   tests.money_state()       counts and sums of tips, holds, ledger, wallets (for "nothing changed")
--   tests.kyc_state(user)     the user's verifications and gate, as text
CREATE FUNCTION tests.scheduled(p_host text, p_title text) RETURNS uuid
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
CREATE FUNCTION tests.live(p_host text, p_title text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid := tests.scheduled(p_host, p_title);
BEGIN
    PERFORM tests.authenticate_as(p_host);
    PERFORM tests.put(p_title, jsonb_build_object('key', (api.start_stream(v_stream)).stream_key));
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.money_state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('/', (SELECT count(*) FROM lp.tips), (SELECT count(*) FROM lp.holds), (SELECT count(*) FROM lp.ledger),
                     (SELECT count(*) FROM lp.payouts), (SELECT count(*) FROM lp.hold_captures),
                     (SELECT sum(w.balance) || ',' || sum(w.reserved) FROM lp.wallets AS w))
$$;
CREATE FUNCTION tests.kyc_state(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('|', (SELECT string_agg(k.status || ':' || (k.approval_ended_at IS NOT NULL)::text, ',' ORDER BY k.created_at, k.id)
                             FROM lp.kyc_verifications AS k WHERE k.user_id = u.id),
                     coalesce(lp.kyc_refusal(u.id), 'valid'))
      FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.stream_status(p_stream uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('|', s.status, s.end_reason) FROM lp.streams AS s WHERE s.id = p_stream
$$;
CREATE FUNCTION tests.tip_many_error(p_sender text, p_to text, p_key text) RETURNS text
    LANGUAGE sql AS $$
    SELECT nullif(concat_ws(' ', error_code, error_message), '')
      FROM api.tip_many(jsonb_build_array(jsonb_build_object(
               'session_token', tests.get(p_sender, 'token'), 'recipient_id', tests.user_id(p_to),
               'amount', 10, 'idempotency_key', p_key)))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');                    -- verified (the fixture's default)
    PERFORM tests.create_user('nora', 'performer', p_verified => false); -- never verified
    PERFORM tests.create_user('eve', 'performer');                    -- her document will expire
    PERFORM tests.create_user('paul', 'performer');                   -- his approval period will pass
    PERFORM tests.create_user('rita', 'performer');                   -- the period changes under her
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -10000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vic'), 10000, 'purchase', 0, false)::lp.posting]);
    PERFORM tests.put('vic', api.login('vic', tests.password()));
    UPDATE lp.settings SET value = '0' WHERE key = 'payouts.hold_days';
    UPDATE lp.settings SET value = '1' WHERE key = 'payouts.min_tokens';
END
$$;

-- == the helper and its cache ==============================================================================
SELECT is(lp.kyc_refusal(tests.user_id('pia')), NULL, 'lp.kyc_refusal: NULL for a performer with a valid approval');
SELECT is(lp.kyc_refusal(tests.user_id('nora')), 'no approved identity verification', 'lp.kyc_refusal: never verified');
SELECT is(lp.kyc_refusal(tests.user_id('vic')), 'no approved identity verification', 'lp.kyc_refusal: a viewer has none either');
SELECT is((SELECT kyc_valid_until FROM lp.users WHERE id = tests.user_id('pia')),
          (SELECT least(expires_at, reviewed_at + interval '365 days') FROM lp.kyc_verifications WHERE user_id = tests.user_id('pia')),
          'the cache holds the end of the approval (the document''s expiry, before kyc.approval_valid_days)');
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT lp.kyc_refusal(%L)', tests.user_id('pia')), '42501', NULL,
                 'lp.kyc_refusal is not executable by the application role');
SELECT tests.clear_authentication();

-- == going live ============================================================================================
SELECT tests.remember('pia_live', tests.live('pia', 'Pia verified'));
SELECT is(tests.stream_status(tests.id('pia_live')), 'live', 'allow: a verified performer goes live');
SELECT tests.remember('nora_s', tests.scheduled('nora', 'Nora never verified'));
SELECT tests.authenticate_as('nora');
SELECT throws_ok(format('SELECT api.start_stream(%L)', tests.id('nora_s')), 'LP120', NULL,
                 'deny: a performer who never verified cannot go live (LP120)');
SELECT tests.clear_authentication();
SELECT is(tests.stream_status(tests.id('nora_s')), 'scheduled', 'and the stream is still scheduled');
SELECT is(lp.go_live_gaps(tests.id('nora_s'), tests.user_id('nora')), ARRAY['nora: no approved identity verification'],
          'the gate says why');

-- == earning: tip, tip_many, hold ==========================================================================
SELECT tests.authenticate_as('vic');
SELECT isnt((api.tip(tests.user_id('pia'), 100, 'v-1')).id, NULL, 'allow: a verified performer receives a tip');
SELECT isnt((api.place_hold(tests.user_id('pia'), 50, 'h-1')).id, NULL, 'allow: a hold for a verified performer');
SELECT tests.clear_authentication();
SELECT is(tests.tip_many_error('vic', 'pia', 'm-1'), NULL, 'allow: tip_many to a verified performer');
SELECT tests.put('before', jsonb_build_object('text', tests.money_state()));
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 100, %L)', tests.user_id('nora'), 'v-2'), 'LP135', NULL,
                 'deny: a tip to a performer who never verified (LP135)');
SELECT throws_ok(format('SELECT api.place_hold(%L, 50, %L)', tests.user_id('nora'), 'h-2'), 'LP135', NULL,
                 'deny: a hold for a performer who never verified (LP135)');
SELECT tests.clear_authentication();
SELECT is(tests.tip_many_error('vic', 'nora', 'm-2'), 'LP135 the payee has no valid identity verification',
          'deny: tip_many refuses the tip with LP135 and the payee rule''s message');
SELECT is(tests.money_state(), tests.get('before', 'text'), 'the refused payments changed nothing');

-- == payouts ===============================================================================================
SELECT tests.authenticate_as('pia');
SELECT is((api.request_payout(10, 'bank_transfer', 'p-1')).status::text, 'requested', 'allow: a verified performer requests a payout');
SELECT tests.authenticate_as('nora');
SELECT throws_ok($$SELECT api.request_payout(10, 'bank_transfer', 'p-2')$$, 'LP111', NULL,
                 'deny: a performer who never verified requests no payout (LP111)');
SELECT tests.clear_authentication();

-- == the job: a document that expires ======================================================================
SELECT tests.remember('eve_live', tests.live('eve', 'Eve expiring'));
SELECT tests.authenticate_as('vic');
SELECT isnt((api.tip(tests.user_id('eve'), 100, 'v-3')).id, NULL, 'eve is paid while her verification is valid');
SELECT isnt((api.place_hold(tests.user_id('eve'), 40, 'h-3')).id, NULL, 'and a hold is placed for her');
SELECT tests.clear_authentication();
SELECT tests.put('eve_hold', (SELECT h FROM lp.holds AS h WHERE h.payee_id = tests.user_id('eve')));
-- the provider reports the document's expiry as passed (expires_at)
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute' WHERE user_id = tests.user_id('eve');
SELECT is(lp.kyc_refusal(tests.user_id('eve')), 'identity verification expired: re-verification needed',
          'a document past its expiry closes the gate at once (before the job runs)');
SELECT is(tests.stream_status(tests.id('eve_live')), 'live', 'her stream is still live until the job');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.check_stream_key(tests.get('Pia verified', 'key'))).id, tests.id('pia_live'),
          'allow: the ingest check accepts the key of a verified host''s live stream');
SELECT throws_ok(format('SELECT api.check_stream_key(%L)', tests.get('Eve expiring', 'key')), 'LP120', NULL,
                 'deny: the ingest check refuses the key of eve''s stream (LP120) before the job ends it');
SELECT tests.clear_authentication();
-- the period: paul's approval was given 400 days ago (kyc.approval_valid_days is 365), no document expiry
UPDATE lp.kyc_verifications SET reviewed_at = now() - interval '400 days', expires_at = NULL
 WHERE user_id = tests.user_id('paul');
SELECT is(lp.kyc_refusal(tests.user_id('paul')), 'identity verification expired: re-verification needed',
          'an approval older than kyc.approval_valid_days no longer counts');
SELECT is(lp.kyc_refusal(tests.user_id('pia')), NULL, 'pia is not affected');

SELECT tests.authenticate_as(NULL, 'livepanty_app');
SELECT throws_ok('SELECT api.expire_kyc_approvals()', '42501', NULL, 'deny: the application role cannot run the job');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok('SELECT api.expire_kyc_approvals(0)', 'LP018', NULL, 'deny: a batch size of 0 (LP018)');
SELECT is(api.expire_kyc_approvals(), 2, 'allow: the service runs the job, which expires two approvals');
SELECT tests.clear_authentication();
SELECT is(tests.kyc_state('eve'), 'expired:true|identity verification expired: re-verification needed',
          'eve''s verification is marked expired (approval_ended_at set): re-verification needed');
SELECT is(tests.kyc_state('paul'), 'expired:true|identity verification expired: re-verification needed',
          'paul''s too');
SELECT is((SELECT approval_ended_at FROM lp.kyc_verifications WHERE user_id = tests.user_id('paul')),
          (SELECT reviewed_at + interval '365 days' FROM lp.kyc_verifications WHERE user_id = tests.user_id('paul')),
          'the approval ended when its period did, not when the job ran');
SELECT is(tests.kyc_state('pia'), 'approved:false|valid', 'pia''s approval stays');
SELECT is(tests.stream_status(tests.id('eve_live')), 'ended|go-live gate',
          'the job ended eve''s live stream; its public reason names nothing of her verification');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('eve_live')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('eve'),
                                               'lacks', 'identity verification expired: re-verification needed')),
          'its audit row (staff) says whose verification expired, by user id');
SELECT is(tests.stream_status(tests.id('pia_live')), 'live', 'and not pia''s');
SELECT results_eq($$SELECT details ->> 'why', details ->> 'streams_ended', (actor_id IS NULL)::text FROM lp.audit_logs
                     WHERE action = 'kyc.approval_expired' ORDER BY details ->> 'why'$$,
                  $$VALUES ('document expired', '1', 'true'), ('kyc.approval_valid_days', '0', 'true')$$,
                  'one audit row per expired approval: why, streams ended, by the system');
SELECT is((SELECT details FROM lp.audit_logs WHERE action = 'kyc.expire_approvals'),
          '{"expired": 2, "streams_ended": 1, "gates_recomputed": 0, "reverification_needed": 2}'::jsonb,
          'and one with the counts');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_kyc_approvals(), 0, 'a second run finds nothing (idempotent)');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action LIKE 'kyc.%expire%'), 3::bigint, 'and audits nothing more');
SELECT tests.authenticate_as('eve');
SELECT is((SELECT status FROM api.get_kyc_status()), 'expired', 'api.get_kyc_status shows eve her verification expired');
SELECT tests.clear_authentication();

-- == until re-verified: no going live, no earning, no payout ===============================================
SELECT tests.remember('eve_s', tests.scheduled('eve', 'Eve again'));
SELECT tests.put('before', jsonb_build_object('text', tests.money_state()));
SELECT tests.authenticate_as('eve');
SELECT throws_ok(format('SELECT api.start_stream(%L)', tests.id('eve_s')), 'LP120', NULL,
                 'deny: eve cannot go live until re-verified');
SELECT throws_ok($$SELECT api.request_payout(10, 'bank_transfer', 'p-3')$$, 'LP111', NULL,
                 'deny: nor request a payout (LP111)');
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 100, %L)', tests.user_id('eve'), 'v-4'), 'LP135', NULL,
                 'deny: nor receive a tip (LP135)');
SELECT throws_ok(format('SELECT api.place_hold(%L, 50, %L)', tests.user_id('eve'), 'h-4'), 'LP135', NULL,
                 'deny: nor a hold (LP135)');
SELECT tests.clear_authentication();
SELECT is(tests.tip_many_error('vic', 'eve', 'm-3'), 'LP135 the payee has no valid identity verification',
          'deny: nor a tip in api.tip_many');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.capture_hold(%L, 10, %L)', tests.pid('eve_hold'), 'c-1'), 'LP135', NULL,
                 'deny: nor a capture of the hold placed before (LP135)');
SELECT tests.clear_authentication();
SELECT is(tests.money_state(), tests.get('before', 'text'), 'the refusals changed nothing');
SELECT is(tests.stream_status(tests.id('eve_s')), 'scheduled', 'and her stream is still scheduled');

-- == a new approval lifts it at once =======================================================================
SELECT tests.authenticate_as('eve');
SELECT tests.put('eve2', api.submit_kyc(p_document_type => 'passport', p_document_country => 'FR',
                                       p_document_front_url => 's3://kyc-docs/eve/front.jpg'));
SELECT tests.clear_authentication();
SELECT is(lp.kyc_refusal(tests.user_id('eve')), 'identity verification expired: re-verification needed',
          'a submitted re-verification is not enough');
SELECT tests.authenticate_as('adam');
SELECT is((api.approve_kyc(tests.pid('eve2'))).status, 'approved', 'an admin approves the new verification');
SELECT tests.clear_authentication();
SELECT is(lp.kyc_refusal(tests.user_id('eve')), NULL, 'allow: the gate opens at once');
SELECT tests.authenticate_as('vic');
SELECT isnt((api.tip(tests.user_id('eve'), 100, 'v-5')).id, NULL, 'allow: eve is paid again');
SELECT tests.authenticate_as('eve');
SELECT is((api.start_stream(tests.id('eve_s'))).status::text, 'live', 'allow: and goes live');
SELECT tests.clear_authentication();

-- == a changed period: the job recomputes the gates =========================================================
UPDATE lp.kyc_verifications SET reviewed_at = now() - interval '60 days' WHERE user_id = tests.user_id('rita');
UPDATE lp.settings SET value = '30' WHERE key = 'kyc.approval_valid_days';
DO $$ BEGIN PERFORM lp.refresh_kyc_gate(tests.user_id('rita')); END $$;
SELECT is(lp.kyc_refusal(tests.user_id('rita')), 'identity verification expired: re-verification needed',
          'with a 30-day period, rita''s 60-day-old approval has ended');
UPDATE lp.settings SET value = '365' WHERE key = 'kyc.approval_valid_days';
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_kyc_approvals(), 1, 'back to 365 days before the job ran: the job recomputes her gate');
SELECT tests.clear_authentication();
SELECT is(tests.kyc_state('rita'), 'approved:false|valid', 'rita is verified again, her approval never marked expired');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('kyc.approval_valid_days', '-1')$$, 'LP092', NULL,
                 'deny: a negative period (LP092)');
SELECT tests.clear_authentication();

-- == every KYC gate goes through the helper ================================================================
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc AS p
                   WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace)
                     AND p.prosrc ~* '(from|join|update)\s+lp\.kyc_verifications'
                     AND p.proname !~ 'kyc'
                     AND p.proname NOT IN ('erase', 'retained_records', 'delete_user')$$,
                'no function reads lp.kyc_verifications but the KYC functions themselves (and the erasure records, and the erasure''s and the deletion''s lock of the open verifications before the user row)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc AS p
                   WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace)
                     AND p.prosrc ~ 'kyc_valid_until'
                     AND p.proname NOT IN ('kyc_refusal', 'kyc_refusal_from', 'refresh_kyc_gate', 'expire_kyc_approvals')
                     AND p.prosrc !~ 'lp\.kyc_refusal_from\(\w+\.kyc_valid_until\)'$$,
                'the cached gate is read only through lp.kyc_refusal_from');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc AS p
                   WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace)
                     AND p.prosrc ~ 'lp\.approved_kyc\(' AND p.proname <> 'request_payout'$$,
                'lp.approved_kyc (the approval a payout cites) is called by api.request_payout only, after the gate');
SELECT is_empty($$SELECT f FROM unnest(ARRAY['lp.performer_gaps', 'lp.assert_payout_allowed', 'lp.capture_hold']) AS f
                   WHERE NOT EXISTS (SELECT 1 FROM pg_proc AS p
                                      WHERE p.oid::regprocedure::text LIKE f || '(%' AND p.prosrc ~ 'lp\.kyc_refusal\(')
                   UNION ALL
                   SELECT f FROM unnest(ARRAY['api.request_payout', 'api.approve_payout', 'api.send_payout',
                                              'api.mark_payout_paid']) AS f
                   WHERE NOT EXISTS (SELECT 1 FROM pg_proc AS p
                                      WHERE p.oid::regprocedure::text LIKE f || '(%'
                                        AND p.prosrc ~ 'lp\.assert_payout_allowed\(')
                   UNION ALL
                   SELECT f FROM unnest(ARRAY['api.tip', 'api.tip_many', 'lp.place_hold']) AS f
                   WHERE NOT EXISTS (SELECT 1 FROM pg_proc AS p
                                      WHERE p.oid::regprocedure::text LIKE f || '(%'
                                        AND p.prosrc ~ 'lp\.payee_refusal\(' AND p.prosrc ~ 'lp\.kyc_refusal_from\(')$$,
                'the go-live gate, payouts, captures and the payee rule of tips, tip_many and holds consult the helper (lp.capture_hold and lp.place_hold hold the rules of the api functions; the payout steps through lp.assert_payout_allowed)');

SELECT * FROM finish();
ROLLBACK;
