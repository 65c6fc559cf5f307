-- Possible only while no token has moved: the ledger is append-only, and its entries reference the system wallets.
DELETE FROM lp.settings WHERE key IN ('tips.fee_bps', 'tips.min_tokens', 'tips.max_tokens', 'payouts.min_tokens',
    'payouts.hold_days', 'holds.max_minutes', 'limits.raise_cooldown_hours', 'refunds.shortfall_policy',
    'wallets.performer_shards');
DROP TYPE lp.posting CASCADE;
DROP TABLE lp.idempotency_keys CASCADE;
DROP TABLE lp.adjustments CASCADE;
DROP TABLE lp.spending_limits CASCADE;
DROP TABLE lp.hold_captures CASCADE;
DROP TABLE lp.holds CASCADE;
DROP TABLE lp.token_bundles CASCADE;
DROP TABLE lp.wallet_shards CASCADE;
DELETE FROM lp.wallets WHERE kind = 'system';
ALTER TABLE lp.payments
    DROP COLUMN recovered_tokens,
    DROP COLUMN written_off_tokens,
    DROP COLUMN debt_tokens,
    DROP COLUMN reversal_reason;
DROP INDEX lp.ledger_account_chain_idx;
ALTER TABLE lp.ledger
    DROP COLUMN shard,
    DROP CONSTRAINT ledger_entry_kind_check,
    DROP CONSTRAINT ledger_reference_type_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (entry_kind IN (
        'purchase', 'tip', 'tip_fee', 'hold_capture', 'hold_fee', 'payout', 'payout_return',
        'refund', 'chargeback', 'chargeback_loss', 'adjustment')),
    ADD CONSTRAINT ledger_reference_type_check CHECK (reference_type IN (
        'payment', 'tip', 'hold', 'payout', 'refund', 'chargeback', 'adjustment'));
COMMENT ON COLUMN lp.ledger.entry_kind IS 'What the entry is: purchase, tip, tip_fee (platform fee), hold_capture, payout, refund, chargeback, adjustment, ...';
ALTER TABLE lp.wallets
    DROP CONSTRAINT wallets_user_balance_check,
    DROP COLUMN debt_since,
    DROP COLUMN shard_count,
    ADD CONSTRAINT wallets_check2 CHECK (kind = 'system' OR balance >= 0),
    ADD CONSTRAINT wallets_check3 CHECK (kind = 'system' OR reserved <= balance);
COMMENT ON COLUMN lp.wallets.balance IS 'Tokens held (bigint minor units; 100 tokens = 1 USD by default). Equals the sum of the wallet''s ledger entries.';
