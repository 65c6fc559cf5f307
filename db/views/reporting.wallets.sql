DROP VIEW IF EXISTS reporting.wallets CASCADE;
CREATE VIEW reporting.wallets WITH (security_invoker = false) AS
SELECT lp.pseudonym(w.id::text, k.key) AS id,
       w.kind,
       lp.pseudonym(w.user_id::text, k.key) AS user_id,
       w.system_code,
       w.balance,
       coalesce(sh.pending, 0)::bigint AS pending_credits,
       w.reserved,
       w.currency,
       w.tokens_per_unit,
       w.debt_since,
       w.shard_count,
       (w.created_at AT TIME ZONE 'UTC')::date AS created_on,
       (w.updated_at AT TIME ZONE 'UTC')::date AS updated_on
  FROM lp.wallets AS w
  LEFT JOIN LATERAL (SELECT sum(ws.balance) AS pending FROM lp.wallet_shards AS ws WHERE ws.wallet_id = w.id) AS sh ON true
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.wallets IS 'Wallets (user and system): main balance, pending_credits = the sum of the credit shards (the total is balance + pending_credits), reserved, debt; the UTC dates of creation and last change, not their times (a user''s wallet is opened at sign-up, and until it first moves its last change is that instant: reporting.users gives the sign-up date only). Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.wallets TO livepanty_readonly;
