-- A performer's verification or sanction status is told to nobody but the host, the ingest service and staff
-- (docs/compliance.md, "The KYC gate and re-verification"): every stream the platform ends because of one
-- performer on camera (a ban, a suspension, a stream block, a role change, an identity verification that lapsed,
-- found by the expiry job or by the viewer sweep, an acted flag) shows a plain viewer only 'go-live gate', in
-- api.get_stream's end_reason and in the reason of the stream_ended event api.stream_events serves; who and why
-- are in the stream.end audit row (staff), by user id. Fails on the functions before migration 0056, which
-- wrote 'performer ban', 'performer became viewer', 'identity verification expired: ...', 'automated
-- moderation: violence', ... into both.
BEGIN;
SELECT plan(31);

-- Helpers of this file:
--   tests.live(host, title[, co-performer])  schedules, consents and starts a stream, vic watching; its id
--   tests.committed(stream)                  the stream's events as if their transaction had ended
--   tests.seen(stream)                       as vic (a plain viewer): 'status|end_reason|the event's reason'
--   tests.told(stream)                       as vic: every text he can read of the stream (row and events)
--   tests.gaps(stream)                       the stream.end audit row's gaps (staff)
CREATE FUNCTION tests.live(p_host text, p_title text, p_co text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title)).id;
    IF p_co IS NOT NULL THEN
        PERFORM api.add_stream_performer(v_stream, tests.user_id(p_co));
        PERFORM tests.authenticate_as(p_co);
        PERFORM api.consent_to_stream(v_stream, '198.51.100.2');
        PERFORM tests.authenticate_as(p_host);
    END IF;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.authenticate_as('vic');
    PERFORM api.join_stream(v_stream);
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
-- api.stream_events serves only events of transactions that ended: this file's one transaction is made to look
-- like an old one for the stream's events (as test_stream_gate.sql does).
CREATE FUNCTION tests.committed(p_stream uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.stream_events SET tx = '100'::xid8 WHERE stream_id = p_stream
$$;
CREATE FUNCTION tests.seen(p_stream uuid) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_seen text;
BEGIN
    PERFORM tests.committed(p_stream);
    PERFORM tests.authenticate_as('vic');
    SELECT concat_ws('|', g.status, g.end_reason,
                     (SELECT e.payload ->> 'reason' FROM api.stream_events(p_stream) AS e WHERE e.kind = 'stream_ended'))
      INTO v_seen
      FROM api.get_stream(p_stream) AS g;
    PERFORM tests.clear_authentication();
    RETURN v_seen;
END
$$;
CREATE FUNCTION tests.told(p_stream uuid) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_told text;
BEGIN
    PERFORM tests.committed(p_stream);
    PERFORM tests.authenticate_as('vic');
    SELECT to_jsonb(g)::text || coalesce((SELECT string_agg(e.payload::text, ' ') FROM api.stream_events(p_stream) AS e), '')
      INTO v_told
      FROM api.get_stream(p_stream) AS g;
    PERFORM tests.clear_authentication();
    RETURN v_told;
END
$$;
CREATE FUNCTION tests.gaps(p_stream uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.details -> 'gaps' FROM lp.audit_logs AS a
     WHERE a.action = 'stream.end' AND a.target_type = 'stream' AND a.target_id = p_stream::text
$$;
CREATE FUNCTION tests.gap(p_username text, p_lacks text) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(jsonb_build_object('user_id', tests.user_id(p_username), 'lacks', p_lacks))
$$;

DO $$
BEGIN
    PERFORM tests.create_user(u, 'performer')
       FROM unnest(ARRAY['hana', 'bea', 'cora', 'dana', 'erin', 'fay', 'gwen', 'ines', 'jade', 'kira', 'lena',
                         'mia', 'nell', 'opal', 'pam', 'quin', 'rosa']) AS u;
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
END
$$;

-- == a ban of the host ========================================================================================
SELECT tests.remember('ban', tests.live('hana', 'Show 1'));
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'ban', 'underage content')$$, tests.user_id('hana')), 'a moderator bans the host');
SELECT is(tests.seen(tests.id('ban')), 'ended|go-live gate|go-live gate', 'ban: a viewer reads only that the gate ended it');
SELECT is(tests.gaps(tests.id('ban')), tests.gap('hana', 'performer ban'), 'ban: the audit row says who, by id');

-- == a suspension of a co-performer ============================================================================
SELECT tests.remember('suspension', tests.live('bea', 'Show 2', 'cora'));
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'suspension', 'cool off', now() + interval '1 day')$$, tests.user_id('cora')),
                'an admin suspends the co-performer');
SELECT is(tests.seen(tests.id('suspension')), 'ended|go-live gate|go-live gate', 'suspension: the gate, not whose suspension');
SELECT is(tests.gaps(tests.id('suspension')), tests.gap('cora', 'performer suspension'), 'suspension: the audit row names her id');

-- == a stream block of a co-performer ==========================================================================
SELECT tests.remember('stream_block', tests.live('dana', 'Show 3', 'erin'));
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'stream_block', 'off-platform payments', now() + interval '1 day')$$,
                       tests.user_id('erin')), 'a moderator blocks the co-performer from streaming');
SELECT is(tests.seen(tests.id('stream_block')), 'ended|go-live gate|go-live gate', 'stream_block: the gate only');
SELECT is(tests.gaps(tests.id('stream_block')), tests.gap('erin', 'performer stream_block'), 'stream_block: audited by id');

-- == a sanction that came into force without ending anything (one set to start later): the viewer sweep ========
SELECT tests.remember('later', tests.live('fay', 'Show 4', 'gwen'));
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, starts_at, ends_at)
VALUES (tests.user_id('gwen'), 'suspension', 'cool off', now(), now() + interval '1 day');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok($$SELECT api.sweep_viewers()$$, 'the sweep finds the co-performer''s suspension in force');
SELECT is(tests.seen(tests.id('later')), 'ended|go-live gate|go-live gate', 'a suspension the sweep enforces: the gate only');
SELECT is(tests.gaps(tests.id('later')), tests.gap('gwen', 'suspended, banned or blocked from streaming'), 'and the audit row says who lacks what');

-- == a role change of a co-performer ===========================================================================
SELECT tests.remember('role', tests.live('ines', 'Show 5', 'jade'));
SELECT tests.authenticate_as('adam');
SELECT is((api.set_user_role(tests.user_id('jade'), 'viewer')).role::text, 'viewer', 'an admin makes the co-performer a viewer');
SELECT is(tests.seen(tests.id('role')), 'ended|go-live gate|go-live gate', 'role change: the gate, not her new role');
SELECT is(tests.gaps(tests.id('role')), tests.gap('jade', 'performer became viewer'), 'role change: audited by id');

-- == an identity verification that lapsed: the expiry job ======================================================
SELECT tests.remember('kyc_job', tests.live('kira', 'Show 6', 'lena'));
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second' WHERE user_id = tests.user_id('lena');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_kyc_approvals(), 1, 'the expiry job expires the co-performer''s approval');
SELECT is(tests.seen(tests.id('kyc_job')), 'ended|go-live gate|go-live gate', 'expiry job: the gate, not whose verification');
SELECT is(tests.gaps(tests.id('kyc_job')), tests.gap('lena', 'identity verification expired: re-verification needed'),
          'expiry job: audited by id');

-- == an identity verification that lapsed: the viewer sweep ====================================================
SELECT tests.remember('kyc_sweep', tests.live('mia', 'Show 7', 'opal'));
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second' WHERE user_id = tests.user_id('opal');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok($$SELECT api.sweep_viewers()$$, 'the sweep runs before the expiry job');
SELECT is(tests.seen(tests.id('kyc_sweep')), 'ended|go-live gate|go-live gate', 'sweep: the gate only');
SELECT is(tests.gaps(tests.id('kyc_sweep')), tests.gap('opal', 'identity verification expired: re-verification needed'),
          'sweep: audited by id');

-- == an acted flag naming a co-performer =======================================================================
SELECT tests.remember('flag', tests.live('pam', 'Show 8', 'quin'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.remember('f_violence', (api.raise_flag('vision-v1', 'violence', 0.99, 'stream_video', 'seg-1', tests.id('flag'),
                                                    tests.user_id('quin'))).id);
SELECT tests.clear_authentication();
SELECT is((SELECT disposition::text FROM lp.moderation_flags WHERE id = tests.id('f_violence')), 'acted', 'the flag was acted upon');
SELECT is(tests.seen(tests.id('flag')), 'ended|go-live gate|go-live gate', 'acted flag: the gate, not the category');
SELECT is(tests.gaps(tests.id('flag')), tests.gap('quin', 'automated moderation: violence'), 'acted flag: audited with whom it names');
SELECT is((SELECT details ->> 'flag_id' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('flag')::text),
          tests.id('f_violence')::text, 'and the flag');

-- == a flag that also suspends (minor_detected) ===============================================================
SELECT tests.remember('minor', tests.live('nell', 'Show 9'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.remember('f_minor', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-2', tests.id('minor'))).id);
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.user_sanctions WHERE user_id = tests.user_id('nell') AND sanction_type = 'suspension'), 1::bigint,
          'the flag suspended the host too');
SELECT is(tests.seen(tests.id('minor')), 'ended|go-live gate|go-live gate', 'minor_detected: the gate only');
SELECT is(tests.gaps(tests.id('minor')), tests.gap('nell', 'automated moderation: minor_detected'),
          'minor_detected: audited with whom it names');

-- == nothing a viewer reads of these streams tells what happened ===============================================
SELECT is_empty($$SELECT k, w FROM unnest(ARRAY['ban', 'suspension', 'stream_block', 'later', 'role', 'kyc_job', 'kyc_sweep',
                                                'flag', 'minor']) AS k
                  CROSS JOIN unnest(ARRAY['performer ban', 'performer suspension', 'performer stream_block', 'became',
                                          'identity verification', 'expired', 'automated', 'violence', 'minor_detected',
                                          'suspended, banned']) AS w
                 WHERE strpos(tests.told(tests.id(k)), w) > 0$$,
                'no word of a sanction, a verification, a role or a flag in what a viewer reads of any of them');
-- Control: what tests.told reads holds the reason a host gives herself.
SELECT tests.remember('own', tests.live('rosa', 'Show 0'));
SELECT tests.authenticate_as('rosa');
SELECT lives_ok(format($$SELECT api.end_stream(%L, 'performer became tired')$$, tests.id('own')), 'a host ends her own stream');
SELECT ok(strpos(tests.told(tests.id('own')), 'performer became tired') > 0, 'control: a viewer reads the reason she gave');

SELECT * FROM finish();
ROLLBACK;
