-- The end of a sanction and what hangs on it. A suspension issued with review_on_expiry goes back to review
-- once it ran its course, whatever happened to it after its end: revoking it after it ended (api.revoke_sanction
-- allows it; a granted appeal does it) lifts nothing and does not cancel the review (api.expire_sanctions); one
-- lifted early is not reviewed. An appeal still pending when its sanction is lifted (api.revoke_sanction, a
-- dismissal lifting an automated sanction in api.resolve_case) is closed as moot: it leaves the queue
-- (api.list_appeals), cannot be decided (LP004), tells the appellant why and is audited appeal.moot. A sanction
-- that merely ended may still be appealed (api.appeal_sanction): its appeal stays pending and decidable.
BEGIN;
SELECT plan(21);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.ended(id, revoked_ago)        move the sanction into the past (started 3 hours ago, ended an hour
--                                       ago); a revoked one revoked p_revoked_ago ago
--   tests.sanction_row(id), tests.appeal_row(id)
--   tests.state()                       everything a refusal must leave as it was
--   tests.rejects(query, code, text)    throws_ok + the state unchanged (two assertions)
--   tests.live(host, title)             a live stream of the host; its id
--   tests.claim(id, user)               a running claim of the user on the case
CREATE FUNCTION tests.ended(p_id uuid, p_revoked_ago interval DEFAULT NULL) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.user_sanctions
       SET starts_at = now() - interval '3 hours', created_at = now() - interval '3 hours',
           ends_at = now() - interval '1 hour',
           revoked_at = CASE WHEN revoked_at IS NULL THEN NULL ELSE now() - p_revoked_ago END
     WHERE id = p_id
$$;
CREATE FUNCTION tests.sanction_row(p_id uuid) RETURNS lp.user_sanctions
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.* FROM lp.user_sanctions AS s WHERE s.id = p_id
$$;
CREATE FUNCTION tests.appeal_row(p_id uuid) RETURNS lp.sanction_appeals
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.* FROM lp.sanction_appeals AS a WHERE a.id = p_id
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(s.id || ':' || coalesce(s.revoked_at::text, '-') || ':' || coalesce(s.expiry_case_id::text, '-'),
                           ',' ORDER BY s.id) FROM lp.user_sanctions AS s),
        (SELECT string_agg(concat_ws(',', a.id, a.status, a.decided_by, a.decided_at, a.decision_reasons), ';' ORDER BY a.id)
           FROM lp.sanction_appeals AS a),
        (SELECT string_agg(r.id || ':' || r.status, ',' ORDER BY r.id) FROM lp.reports AS r),
        (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.live(p_host text, p_title text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title)).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.claim(p_id uuid, p_user text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET status = 'in_review', assigned_to = tests.user_id(p_user), claimed_at = now(),
                          claim_expires_at = now() + interval '30 minutes' WHERE id = p_id
$$;

DO $$
BEGIN
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('xena');
    PERFORM tests.create_user('yan');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
END
$$;

-- == review on expiry: a suspension that ran its course goes back to review ================================
SELECT tests.authenticate_as('mona');
SELECT tests.remember('wes_susp', (api.sanction_user(tests.user_id('wes'), 'suspension', 'spam', now() + interval '1 day',
                                                     NULL, true)).id);
SELECT tests.remember('vic_susp', (api.sanction_user(tests.user_id('vic'), 'suspension', 'insults', now() + interval '1 day',
                                                     NULL, true)).id);
SELECT tests.remember('yan_susp', (api.sanction_user(tests.user_id('yan'), 'suspension', 'threats', now() + interval '1 day',
                                                     NULL, true)).id);
-- yan's suspension is lifted early: revoked while in force (two hours ago, an hour before its end)
SELECT tests.authenticate_as('max');
SELECT (api.revoke_sanction(tests.id('yan_susp'), 'a misunderstanding')).revoked_at IS NOT NULL AS lifted_early;
SELECT tests.clear_authentication();
SELECT tests.ended(tests.id('yan_susp'), interval '2 hours');
-- wes's and vic's ran their course (ended an hour ago) and the job has not run since
SELECT tests.ended(tests.id('wes_susp'));
SELECT tests.ended(tests.id('vic_susp'));
-- after its end, max revokes wes's suspension (allowed: docs/api.md, api.revoke_sanction) ...
SELECT tests.authenticate_as('max');
SELECT (api.revoke_sanction(tests.id('wes_susp'), 'served')).revoked_at IS NOT NULL AS revoked_after_end;
-- ... and grants vic's appeal of his ended suspension (support files it for him)
SELECT tests.authenticate_as('vic', 'livepanty_service');
SELECT tests.remember('vic_ap', (api.appeal_sanction(tests.id('vic_susp'), 'I was provoked.')).id);
SELECT tests.authenticate_as('max');
SELECT (api.decide_appeal(tests.id('vic_ap'), true, 'Provoked; the suspension is struck from the record.')).status AS vic_appeal;
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 2,
          'the job handles the two review_on_expiry suspensions that ran their course, though revoked after their end');
SELECT tests.clear_authentication();
SELECT is((SELECT r.reason::text || '|' || (r.reported_user_id = tests.user_id('wes'))::text || '|'
                    || (r.details -> 'events' -> 0 ->> 'sanction_id')
             FROM lp.reports AS r WHERE r.id = (tests.sanction_row(tests.id('wes_susp'))).expiry_case_id),
          'sanction_review|true|' || tests.id('wes_susp'),
          'revoked after it ended: wes goes back to review all the same (a sanction_review case naming the suspension)');
SELECT is(tests.audits('sanction.expire_review', tests.user_id('wes')), 1::bigint, 'audited sanction.expire_review');
SELECT isnt((tests.sanction_row(tests.id('vic_susp'))).expiry_case_id, NULL,
            'a granted appeal after the end does not cancel the review either (vic goes back to review)');
SELECT is((tests.sanction_row(tests.id('yan_susp'))).expiry_handled_at, NULL,
          'a review_on_expiry suspension lifted early is not reviewed (control)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 0, 'idempotent: a second run files nothing (control)');
SELECT tests.clear_authentication();

-- == an appeal pending when its sanction is lifted is closed as moot: api.revoke_sanction =================
SELECT tests.authenticate_as('mona');
SELECT tests.remember('xena_mute', (api.sanction_user(tests.user_id('xena'), 'mute', 'slurs in tip messages')).id);
SELECT tests.authenticate_as('xena');
SELECT tests.remember('xena_ap', (api.appeal_sanction(tests.id('xena_mute'), 'It was a song lyric.')).id);
SELECT tests.authenticate_as('max');
SELECT (api.revoke_sanction(tests.id('xena_mute'), 'song lyric, no slur intended')).revoked_at IS NOT NULL AS lifted;
SELECT tests.clear_authentication();
SELECT is((SELECT row(a.status, a.decided_by = tests.user_id('max'), a.decided_at = now())::text
             FROM lp.sanction_appeals AS a WHERE a.id = tests.id('xena_ap')),
          '(moot,t,t)', 'revoking a sanction closes its pending appeal as moot (by the moderator who lifted it, now)');
SELECT is((tests.appeal_row(tests.id('xena_ap'))).decision_reasons, 'The sanction was lifted: song lyric, no slur intended',
          'the appeal''s reasons say why: the sanction was lifted, and the lift''s reason');
SELECT is(tests.audits('appeal.moot', tests.id('xena_mute')), 1::bigint, 'audited appeal.moot (target the sanction)');
SELECT tests.authenticate_as('xena');
SELECT is((SELECT count(*)::integer FROM api.my_sanctions() WHERE sanction_id = tests.id('xena_mute')), 0,
          'xena''s current sanctions no longer show the lifted mute as waiting on an appeal');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*)::integer FROM api.list_appeals() WHERE appeal_id = tests.id('xena_ap')), 0,
          'the moot appeal is no longer in the pending queue');
SELECT is((SELECT status || '|' || may_decide FROM api.list_appeals(NULL) WHERE appeal_id = tests.id('xena_ap')), 'moot|false',
          'the full list shows it moot, and that nobody may decide it');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, false, 'Slurs are slurs.')$$, tests.id('xena_ap')), 'LP004',
                            'deny: an appeal whose sanction was lifted cannot be decided (LP004), not even denied');
SELECT tests.authenticate_as('xena');
SELECT is((SELECT appeal_status || '|' || decision_reasons FROM api.my_sanctions(true) WHERE sanction_id = tests.id('xena_mute')),
          'moot|The sanction was lifted: song lyric, no slur intended', 'her history shows the appeal as moot, with why');

-- == ... and a dismissal that lifts the automated sanction of its case (api.resolve_case) =================
SELECT tests.remember('s_pia', tests.live('pia', 'pia live'));
SELECT tests.remember('f_pia', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-1', tests.id('s_pia'))).id);
SELECT tests.remember('c_pia', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_pia')));
SELECT tests.remember('pia_susp', (SELECT sanction_id FROM lp.reports WHERE id = tests.id('c_pia')));
SELECT tests.authenticate_as('pia', 'livepanty_service');
SELECT tests.remember('pia_ap', (api.appeal_sanction(tests.id('pia_susp'), 'I am 31; here is my passport.')).id);
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_pia'), 'max');
SELECT tests.authenticate_as('max');
SELECT (api.resolve_case(tests.id('c_pia'), 'dismiss', 'Adult performer, ID checked.', 'No rule broken')).status AS dismissed;
SELECT tests.clear_authentication();
SELECT is((SELECT row(a.status, a.decided_by = tests.user_id('max'), s.revoked_at IS NOT NULL)::text
             FROM lp.sanction_appeals AS a JOIN lp.user_sanctions AS s ON s.id = a.sanction_id
            WHERE a.id = tests.id('pia_ap')),
          '(moot,t,t)', 'the dismissal lifts pia''s automated suspension and closes her pending appeal as moot');
SELECT is((tests.appeal_row(tests.id('pia_ap'))).decision_reasons, 'The sanction was lifted: case dismissed: Adult performer, ID checked.',
          'with the dismissal''s reason');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, true, 'She is an adult.')$$, tests.id('pia_ap')), 'LP004',
                            'deny: nor can it be decided afterwards (LP004)');

-- == a sanction that merely ended may still be appealed: the appeal stays pending and decidable (control) ===
SELECT tests.authenticate_as('mona');
SELECT tests.remember('xena_tb', (api.sanction_user(tests.user_id('xena'), 'tip_block', 'card testing', now() + interval '1 day')).id);
SELECT tests.clear_authentication();
SELECT tests.ended(tests.id('xena_tb'));
SELECT tests.authenticate_as('xena');
SELECT tests.remember('xena_ap2', (api.appeal_sanction(tests.id('xena_tb'), 'My card was stolen.')).id);
SELECT tests.authenticate_as('max');
SELECT is((SELECT status || '|' || may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('xena_ap2')), 'pending|true',
          'an appeal of an ended (not lifted) sanction stays pending in the queue (control)');
SELECT is((api.decide_appeal(tests.id('xena_ap2'), true, 'The bank confirmed the theft.')).status::text, 'granted',
          'and is decided on its merits (control)');

SELECT * FROM finish();
ROLLBACK;
