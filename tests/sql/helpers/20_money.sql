-- Shared token economy helpers (loaded into the template database after 10_scratch.sql; see tests/conftest.py).
-- SECURITY DEFINER where they read or write past RLS, whatever role is acting.
--   tests.wallet(username)        the user's wallet id
--   tests.wallet_state(username)  'main=.. reserved=.. shards=.. debt=t|f'
--   tests.sound()                 every transaction sums to 0, every account's last balance_after is its balance,
--                                 and the sum of all balances (main and shards, users and system) is 0
--   tests.last_audit(action)      the latest audit row of an action
--   tests.audits(action, target)  number of audit rows of an action on a target id
--   tests.claw(username, n)       debits n tokens back to issuance allowing debt (as a refund would)
--   tests.reserved(username), tests.shards(username)
--                                 reserved tokens; sum of credit shards
--   tests.fees()                  platform fee wallet total (its shards)
--   tests.holds_consistent()      every user wallet's reserved = sum(amount - captured) over its open holds
--   tests.ledger_consistent()     every transaction sums to zero; every (wallet, shard) account's entries form
--                                 an unbroken before/after chain from 0 to the account's current balance
--   tests.hold(username, key), tests.hold_id(username, key)
--                                 a user's hold by its idempotency key (test files may define other overloads
--                                 of tests.hold, with other arguments)
--   tests.make_due(username, key) moves a hold's life into the past so that it is due now (created 2 hours
--                                 ago, expired a second ago)
--   tests.stream(title)           a stream's id by its title
--   tests.approve_kyc(username)   an approved identity verification, as an admin's approval leaves it
--   tests.purchase(username, bundle, key)
--                                 a completed purchase (the user creates it, the service completes it); its id
--   tests.fund(username, n)       n tokens posted from issuance to the user's wallet (a purchase's ledger legs,
--                                 without a payment row)
--   tests.cfg(key, value)         sets a runtime setting (value as JSON text); returns a TAP comment
--   tests.age(username, days)     makes the account (and its fraud counter's account age) days old
-- Helpers whose body differs between test files (tests.main, tests.total, tests.state, ...) stay in those files.
CREATE FUNCTION tests.wallet(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.id FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.wallet_state(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('main=%s reserved=%s shards=%s debt=%s', w.balance, w.reserved,
                  coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0),
                  (w.debt_since IS NOT NULL)::text)
      FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.sound() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (SELECT coalesce(sum(w.balance), 0) FROM lp.wallets AS w)
           + (SELECT coalesce(sum(s.balance), 0) FROM lp.wallet_shards AS s) = 0
       AND NOT EXISTS (SELECT 1 FROM lp.ledger AS e GROUP BY e.transaction_id HAVING sum(e.amount) <> 0)
       AND NOT EXISTS (
           SELECT 1
             FROM (SELECT DISTINCT ON (e.wallet_id, e.shard) e.wallet_id, e.shard, e.balance_after
                     FROM lp.ledger AS e ORDER BY e.wallet_id, e.shard, e.id DESC) AS l
             LEFT JOIN lp.wallets AS w ON w.id = l.wallet_id AND l.shard = 0
             LEFT JOIN lp.wallet_shards AS s ON s.wallet_id = l.wallet_id AND s.shard = l.shard
            WHERE l.balance_after IS DISTINCT FROM coalesce(w.balance, s.balance))
$$;
CREATE FUNCTION tests.last_audit(p_action text) RETURNS SETOF lp.audit_logs
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.* FROM lp.audit_logs AS a WHERE a.action = p_action ORDER BY a.id DESC LIMIT 1
$$;
CREATE FUNCTION tests.audits(p_action text, p_target uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.audit_logs AS a WHERE a.action = p_action AND a.target_id = p_target::text
$$;
CREATE FUNCTION tests.claw(p_username text, p_tokens bigint) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY[ROW(tests.wallet(p_username), -p_tokens, 'refund', 0, true)::lp.posting,
                         ROW(lp.system_wallet('issuance'), p_tokens, 'refund', 0, false)::lp.posting])
$$;
CREATE FUNCTION tests.reserved(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.reserved FROM lp.wallets AS w WHERE w.id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.shards(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(sum(s.balance), 0)::bigint FROM lp.wallet_shards AS s WHERE s.wallet_id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.fees() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(sum(s.balance), 0)::bigint FROM lp.wallet_shards AS s WHERE s.wallet_id = lp.system_wallet('platform_fees')
$$;
CREATE FUNCTION tests.holds_consistent() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM lp.wallets AS w
         WHERE w.kind = 'user'
           AND w.reserved <> (SELECT coalesce(sum(h.amount - h.captured), 0) FROM lp.holds AS h
                               WHERE h.wallet_id = w.id AND h.status = 'open'))
$$;
CREATE FUNCTION tests.ledger_consistent() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH chain AS (
        SELECT e.wallet_id, e.shard, e.balance_before, e.balance_after,
               lag(e.balance_after, 1, 0::bigint) OVER (PARTITION BY e.wallet_id, e.shard ORDER BY e.id) AS prev_after,
               row_number() OVER (PARTITION BY e.wallet_id, e.shard ORDER BY e.id DESC) AS from_end
          FROM lp.ledger AS e
    )
    SELECT NOT EXISTS (SELECT 1 FROM lp.ledger AS e GROUP BY e.transaction_id HAVING sum(e.amount) <> 0)
       AND NOT EXISTS (SELECT 1 FROM chain AS c WHERE c.balance_before <> c.prev_after)
       AND NOT EXISTS (SELECT 1 FROM chain AS c
                        WHERE c.from_end = 1
                          AND c.balance_after <> CASE WHEN c.shard = 0
                                  THEN (SELECT w.balance FROM lp.wallets AS w WHERE w.id = c.wallet_id)
                                  ELSE (SELECT s.balance FROM lp.wallet_shards AS s
                                         WHERE s.wallet_id = c.wallet_id AND s.shard = c.shard) END)
$$;
CREATE FUNCTION tests.hold(p_username text, p_key text) RETURNS lp.holds
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT h.* FROM lp.holds AS h WHERE h.user_id = tests.user_id(p_username) AND h.idempotency_key = p_key
$$;
CREATE FUNCTION tests.hold_id(p_username text, p_key text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (tests.hold(p_username, p_key)).id
$$;
CREATE FUNCTION tests.make_due(p_username text, p_key text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.holds SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
     WHERE id = tests.hold_id(p_username, p_key)
$$;
CREATE FUNCTION tests.stream(p_title text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.id FROM lp.streams AS s WHERE s.title = p_title
$$;
-- An approved identity verification of a user, as an admin's api.approve_kyc leaves it (valid for a year).
CREATE FUNCTION tests.approve_kyc(p_username text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at, expires_at)
    VALUES (tests.user_id(p_username), 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year')
$$;
CREATE FUNCTION tests.purchase(p_username text, p_bundle text, p_key text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_payment lp.payments;
BEGIN
    PERFORM tests.authenticate_as(p_username);
    v_payment := api.create_payment(p_bundle, 'stripe', 'buy-' || p_key);
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    v_payment := api.complete_payment(v_payment.id, 'ch_' || p_key, 'complete-' || p_key);
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'none', true);
    RETURN v_payment.id;
END
$$;
CREATE FUNCTION tests.fund(p_username text, p_tokens bigint) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY[ROW(lp.system_wallet('issuance'), -p_tokens, 'purchase', 0, false)::lp.posting,
                         ROW(tests.wallet(p_username), p_tokens, 'purchase', 0, false)::lp.posting])
$$;
CREATE FUNCTION tests.cfg(p_key text, p_value text) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.settings SET value = p_value::jsonb WHERE key = p_key;
    SELECT format('# %s = %s', p_key, p_value)
$$;
CREATE FUNCTION tests.age(p_username text, p_days integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.users SET created_at = now() - make_interval(days => p_days) WHERE id = tests.user_id(p_username);
    UPDATE lp.spend_counters SET account_created_at = now() - make_interval(days => p_days)
     WHERE user_id = tests.user_id(p_username);
$$;
