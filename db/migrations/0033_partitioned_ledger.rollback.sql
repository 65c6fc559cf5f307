-- Undo 0033_partitioned_ledger (the repeatable functions and views that use lp.ledger are dropped before this
-- runs): the unpartitioned lp.ledger again, every entry copied back with its id, in id order (from every
-- partition still attached: restore archived partitions first, 0035's rollback refuses while any is archived).
SET ROLE livepanty_owner;
ALTER TABLE lp.ledger RENAME TO ledger_partitioned;
ALTER INDEX lp.ledger_pkey RENAME TO ledger_partitioned_pkey;
DROP INDEX lp.ledger_wallet_created_at_idx, lp.ledger_transaction_idx, lp.ledger_account_chain_idx;
ALTER SEQUENCE lp.ledger_id_seq RENAME TO ledger_partitioned_id_seq;
ALTER TABLE lp.ledger_partitioned DROP CONSTRAINT ledger_amount_check, DROP CONSTRAINT ledger_check,
    DROP CONSTRAINT ledger_description_check, DROP CONSTRAINT ledger_entry_kind_check,
    DROP CONSTRAINT ledger_reference_type_check, DROP CONSTRAINT ledger_shard_check;

CREATE TABLE lp.ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    CHECK (balance_after = balance_before + amount)
);
COMMENT ON TABLE lp.ledger IS 'Immutable, append-only token history (double entry): every movement is one transaction_id whose entries sum to zero. UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner.';
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
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id);

ALTER TABLE lp.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON lp.ledger
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON lp.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

-- Row level security is lifted for the copy (the policies were dropped with the repeatables) and forced again.
ALTER TABLE lp.ledger_partitioned NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger NO FORCE ROW LEVEL SECURITY;
INSERT INTO lp.ledger OVERRIDING SYSTEM VALUE SELECT * FROM lp.ledger_partitioned ORDER BY id;
SELECT setval('lp.ledger_id_seq', s.last_value, s.is_called) FROM lp.ledger_partitioned_id_seq AS s;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
DROP TABLE lp.ledger_partitioned CASCADE;
DROP FUNCTION lp.create_month_partition(regclass, timestamptz);
DROP FUNCTION lp.secure_partition(regclass);
RESET ROLE;
DROP SCHEMA lp_partitions;
DELETE FROM lp.locks WHERE name = 'ledger.partitions';
