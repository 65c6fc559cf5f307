-- System wallets (each with 16 credit shards), credit shards for performers, and the token economy settings.
-- Runs as the migrating superuser: row level security is forced on these tables and the policies that let
-- the owner in are re-applied only after the migrations.
INSERT INTO lp.wallets (kind, system_code, shard_count)
SELECT 'system', code, 16
  FROM unnest(ARRAY['issuance', 'platform_fees', 'payout_clearing', 'chargeback_losses', 'adjustments']) AS code;
UPDATE lp.wallets AS w SET shard_count = 8
  FROM lp.users AS u
 WHERE w.user_id = u.id AND u.role = 'performer';
INSERT INTO lp.wallet_shards (wallet_id, shard)
SELECT w.id, s FROM lp.wallets AS w CROSS JOIN LATERAL generate_series(1, w.shard_count) AS s;

INSERT INTO lp.settings (key, value, description) VALUES
    ('tips.fee_bps',                '2000',    'Platform fee on tips and hold captures, in basis points of the gross amount (rounded down: the performer keeps the odd token).'),
    ('tips.min_tokens',             '1',       'Smallest tip, in tokens.'),
    ('tips.max_tokens',             '1000000', 'Largest tip, in tokens.'),
    ('payouts.min_tokens',          '5000',    'Smallest payout, in tokens.'),
    ('payouts.hold_days',           '7',       'Earnings become payable this many days after they were received.'),
    ('holds.max_minutes',           '1440',    'Longest a hold may stay open before it expires, in minutes.'),
    ('limits.raise_cooldown_hours', '24',      'Raising or removing a spending limit takes effect after this many hours.'),
    ('refunds.shortfall_policy',    '"debt"',  'When a refund or chargeback claws back tokens already spent: "debt" (the wallet goes negative and cannot spend) or "write_off" (the shortfall is booked to the chargeback-loss wallet).'),
    ('wallets.performer_shards',    '8',       'Credit shards given to a performer''s wallet (hot-account spreading).');
INSERT INTO lp.settings (key, value, description) VALUES
    ('ledger.max_transaction_seconds', '900', 'Tokens move only in a transaction begun at most this many seconds ago (LP205): a ledger entry is dated by its transaction''s start, which the payout hold period, limits and partitions read.');
INSERT INTO lp.settings (key, value, description) VALUES
    ('review.max_claim_minutes', '120', 'Longest a claim on a review case may last, in minutes from when it was taken (lp.reports.claimed_at): api.claim_case''s lease and api.extend_case_claim''s renewals stop there, and an extension at the limit is refused (LP144); the claim then runs out and another moderator may claim the case.');
INSERT INTO lp.settings (key, value, description) VALUES
    ('review.max_reports_per_hour', '20', 'At most this many reports (api.report filings) one user files in any sixty minutes; the next is refused (LP145) until the oldest of them is an hour old. Staff and the back office acting for a user are not limited.');
