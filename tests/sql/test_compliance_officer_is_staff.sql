-- A compliance officer is staff for sanctions as for cases (lp.is_staff, the one list): only an admin sanctions
-- one, lifts a sanction on one, or decides (or is offered to decide) the appeal of one's sanction. A moderator
-- could do all of it before (the sanction paths' own lists named moderators and admins only), while cases
-- about compliance officers were already the admins' alone. And the sanctions and appeals of staff are read
-- by admins only (RLS, api.list_appeals), as the cases about staff are: a moderator read every one.
BEGIN;
SELECT plan(18);

-- This file's helpers (SECURITY DEFINER: past RLS, whoever acts): the one sanction and appeal of a user.
CREATE FUNCTION tests.sanction_of(p_user text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.id FROM lp.user_sanctions AS s WHERE s.user_id = tests.user_id(p_user)
$$;
CREATE FUNCTION tests.appeal_of(p_user text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.id FROM lp.sanction_appeals AS a WHERE a.user_id = tests.user_id(p_user)
$$;

SELECT tests.create_user('ada', 'admin');
SELECT tests.create_user('abe', 'admin');
SELECT tests.create_user('moe', 'moderator');
SELECT tests.create_user('cora', 'compliance_officer');
SELECT tests.create_user('vic', 'viewer');

-- Every staff role is staff, and only those.
SELECT is(array_agg(r::text ORDER BY r), ARRAY['moderator', 'admin', 'compliance_officer'],
          'lp.is_staff: moderator, admin, compliance_officer')
  FROM unnest(enum_range(NULL::lp.user_role)) AS r WHERE lp.is_staff(r);

-- Sanctioning.
SELECT tests.authenticate_as('moe');
SELECT throws_ok($$SELECT api.sanction_user(tests.user_id('cora'), 'warning', 'rude in chat')$$,
                 'LP002', 'only admins may sanction staff', 'a moderator may not sanction a compliance officer');
SELECT lives_ok($$SELECT api.sanction_user(tests.user_id('vic'), 'warning', 'rude in chat')$$,
                'control: the moderator warns a viewer');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.sanction_user(tests.user_id('cora'), 'mute', 'rude in chat')$$,
                'an admin mutes the compliance officer');
SELECT is((SELECT count(*)::integer FROM lp.user_sanctions WHERE user_id = tests.user_id('cora')), 1,
          'one sanction on cora: the admin''s');

-- Appealing it, and the appeal's queue.
SELECT tests.authenticate_as('cora');
SELECT lives_ok($$SELECT api.appeal_sanction(tests.sanction_of('cora'),
                                             'I was quoting the rules')$$, 'cora appeals');
SELECT tests.authenticate_as('moe');
SELECT is((SELECT count(*)::integer FROM api.list_appeals() AS a WHERE a.user_id = tests.user_id('cora')), 0,
          'the moderator''s queue does not list the compliance officer''s appeal');
SELECT is((SELECT count(*)::integer FROM lp.user_sanctions WHERE user_id = tests.user_id('cora')), 0,
          'the moderator reads no sanction of the compliance officer (RLS)');
SELECT is((SELECT count(*)::integer FROM lp.sanction_appeals WHERE user_id = tests.user_id('cora')), 0,
          'nor her appeal (RLS)');
SELECT is((SELECT count(*)::integer FROM lp.user_sanctions WHERE user_id = tests.user_id('vic')), 1,
          'control: the moderator reads a viewer''s sanction');
SELECT throws_ok($$SELECT api.decide_appeal(tests.appeal_of('cora'),
                                            true, 'fair enough')$$,
                 'LP002', 'only admins decide appeals of staff', 'a moderator may not decide it');

-- Lifting it.
SELECT throws_ok($$SELECT api.revoke_sanction(tests.sanction_of('cora'),
                                              'mistake')$$,
                 'LP002', 'only admins may lift a sanction on staff', 'a moderator may not lift it');

SELECT tests.authenticate_as('abe');  -- another admin than the issuer
SELECT is((SELECT revoked_at IS NULL FROM lp.user_sanctions WHERE id = tests.sanction_of('cora')), true,
          'the sanction stands after the moderator''s attempts');
SELECT is((SELECT status::text FROM lp.sanction_appeals WHERE id = tests.appeal_of('cora')), 'pending',
          'and the appeal is still pending');
SELECT is((SELECT a.may_decide FROM api.list_appeals() AS a WHERE a.user_id = tests.user_id('cora')), true,
          'an admin''s queue offers it');
SELECT is((SELECT count(*)::integer FROM lp.sanction_appeals WHERE user_id = tests.user_id('cora')), 1,
          'an admin reads the appeal');
SELECT lives_ok($$SELECT api.decide_appeal(tests.appeal_of('cora'),
                                           true, 'fair enough')$$, 'an admin decides it');
SELECT is((SELECT revoked_at IS NOT NULL FROM lp.user_sanctions WHERE id = tests.sanction_of('cora')), true,
            'the granted appeal lifts the sanction');

SELECT * FROM finish();
ROLLBACK;
