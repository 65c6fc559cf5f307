-- api.user_summary (issue 9, section 6): one row per user with the KYC gate and its expiry, every sanction in
-- force and the review cases open against the user, each as RLS lets the reader see it.
BEGIN;
SELECT plan(12);

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer', false);
    PERFORM tests.create_user('lapsed', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    -- An approval that stopped counting (what api.expire_kyc_approvals finds): the gate's cache in the past.
    UPDATE lp.users SET kyc_valid_until = now() - interval '1 day' WHERE id = tests.user_id('lapsed');
    PERFORM lp.issue_sanction(tests.user_id('vera'), 'mute', 'spam in tip messages', NULL, NULL, NULL);
    PERFORM lp.issue_sanction(tests.user_id('vera'), 'tip_block', 'chargeback', NULL, NULL, NULL);
END
$$;

SELECT tests.authenticate_as('adam');
SELECT is((SELECT kyc_gate FROM api.user_summary WHERE username = 'pia'), 'verified', 'pia: verified');
SELECT ok((SELECT kyc_valid_until > now() FROM api.user_summary WHERE username = 'pia'), 'pia: valid until later');
SELECT is((SELECT kyc_gate FROM api.user_summary WHERE username = 'pete'), 'unverified', 'pete: never verified');
SELECT is((SELECT kyc_valid_until FROM api.user_summary WHERE username = 'pete'), NULL::timestamptz,
          'pete: no date');
SELECT is((SELECT kyc_gate FROM api.user_summary WHERE username = 'lapsed'), 'reverification_needed',
          'lapsed: re-verification needed');
SELECT is((SELECT sanctions FROM api.user_summary WHERE username = 'vera'), ARRAY['mute', 'tip_block'],
          'vera: every sanction in force, restrictions included');
SELECT is((SELECT active_sanction FROM api.user_summary WHERE username = 'vera'), NULL,
          'no suspension or ban, so no blocking sanction');

-- vera reports pete: one open case, visible to staff, not to pete.
SELECT tests.authenticate_as('vera');
SELECT lives_ok(format($$SELECT api.report('user', %L, 'spam')$$, tests.user_id('pete')), 'vera reports pete');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT open_cases FROM api.user_summary WHERE username = 'pete'), 1, 'staff see the open case');
SELECT tests.authenticate_as('pete');
SELECT is((SELECT open_cases FROM api.user_summary WHERE username = 'pete'), 0,
          'pete does not learn of the report from his own row');
SELECT is((SELECT count(*)::int FROM api.user_summary), 1, 'and sees his own row only');
SELECT is((SELECT kyc_gate FROM api.user_summary), 'unverified', 'his own gate: unverified');

SELECT * FROM finish();
ROLLBACK;
