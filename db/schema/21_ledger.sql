SET ROLE livepanty_owner;

CREATE TABLE lp.ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id uuid NOT NULL,
    wallet_id      uuid NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_before bigint NOT NULL,
    balance_after  bigint NOT NULL,
    entry_kind     text NOT NULL CHECK (entry_kind IN (
                       'purchase', 'refund', 'chargeback', 'write_off', 'tip', 'tip_fee', 'hold_capture',
                       'hold_fee', 'payout', 'payout_return', 'payout_paid', 'adjustment', 'sweep')),
    reference_type text NOT NULL CHECK (reference_type IN (
                       'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep', 'show')),
    reference_id   uuid NOT NULL,
    description    text CHECK (char_length(description) <= 500),
    created_at     timestamptz NOT NULL DEFAULT now(),
    shard          smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 64),
    CHECK (balance_after = balance_before + amount),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
COMMENT ON TABLE lp.ledger IS 'Immutable, append-only token history (double entry): every movement is one transaction_id whose entries sum to zero. UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner. Partitioned by month of created_at (UTC) into lp_partitions.ledger_YYYY_MM, plus lp_partitions.ledger_default for rows of a month without its partition; api.maintain_partitions creates them ahead. The key is (id, created_at): ids stay unique as they come from one identity.';
COMMENT ON COLUMN lp.ledger.wallet_id IS 'The wallet the entry moved (lp.wallets.id). No foreign key on purpose (its key-share lock on hot wallet rows broke the lock protocol of docs/ledger.md); api.verify_ledger reports entries on an account that does not exist (unknown_account).';
COMMENT ON COLUMN lp.ledger.transaction_id IS 'Groups the entries of one movement; they sum to zero.';
COMMENT ON COLUMN lp.ledger.amount IS 'Signed token amount: positive credits the wallet, negative debits it.';
COMMENT ON COLUMN lp.ledger.balance_before IS 'Wallet balance just before this entry.';
COMMENT ON COLUMN lp.ledger.balance_after IS 'Wallet balance just after this entry (= balance_before + amount).';
COMMENT ON COLUMN lp.ledger.entry_kind IS 'What the entry is: purchase, refund, chargeback, write_off (loss booked), tip, tip_fee (platform fee), hold_capture, hold_fee, payout, payout_return, payout_paid, adjustment, sweep (shard to main).';
COMMENT ON COLUMN lp.ledger.shard IS 'Which account of the wallet the entry moved: 0 = the main balance (lp.wallets.balance), n > 0 = credit shard n (lp.wallet_shards). balance_before/after are that account''s.';
COMMENT ON COLUMN lp.ledger.reference_type IS 'Kind of business object the entry belongs to; reference_id is its id.';

CREATE INDEX ledger_wallet_created_at_idx ON lp.ledger (wallet_id, created_at);
CREATE INDEX ledger_transaction_idx ON lp.ledger (transaction_id);
-- The account pass of the verification reads every account's chain from this index alone (migration 0036).
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id)
    INCLUDE (amount, balance_before, balance_after, created_at);
-- The transaction pass reads one period of entries at a time (entries are written in time order).
CREATE INDEX ledger_created_at_brin ON lp.ledger USING brin (created_at);

ALTER TABLE lp.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON lp.ledger
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON lp.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

-- The default partition, then this month's and the next three (api.maintain_partitions keeps them ahead).
CREATE TABLE lp_partitions.ledger_default PARTITION OF lp.ledger DEFAULT;
COMMENT ON TABLE lp_partitions.ledger_default IS 'lp.ledger entries of a month that has no partition yet; api.maintain_partitions moves them into their month''s partition. Reach it through lp.ledger.';
SELECT lp.secure_partition('lp_partitions.ledger_default');
SELECT lp.create_month_partition('lp.ledger', m)
  FROM generate_series(date_trunc('month', now(), 'UTC'), date_trunc('month', now(), 'UTC') + interval '3 months',
                       interval '1 month') AS m;

RESET ROLE;
