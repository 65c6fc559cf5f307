-- 0057: the carry-forward of lp.payable_tokens at an archive boundary (docs/ledger.md, "Archiving").
-- lp.payable_tokens sums a performer's earnings, spending and refunds over the whole ledger but subtracts every
-- payout ever made (lp.payouts stays in the database): once partitions were archived it lost the archived
-- earnings and under-counted what is payable (a performer with 500 payable had 0). api.archive_prepare now
-- records, with the checkpoint and under its seal, per user wallet the sums of the entries before the boundary
-- that lp.payable_tokens reads (lp.earnings_checkpoints), and lp.payable_tokens starts from them.
-- Refused while ledger partitions are archived: the sums of their entries cannot be computed any more, and a
-- checkpoint without them would leave lp.payable_tokens wrong (restore them first: livepanty-db archive restore
-- FILE; archive again after the migration).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.archives WHERE table_name = 'lp.ledger' AND restored_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP197',
            MESSAGE = 'ledger partitions are archived: restore them before applying 0057 (livepanty-db archive list)';
    END IF;
END
$$;
SET ROLE livepanty_owner;

CREATE TABLE lp.earnings_checkpoints (
    boundary  timestamptz NOT NULL,
    wallet_id uuid NOT NULL,
    earned    bigint NOT NULL CHECK (earned >= 0),
    spent     bigint NOT NULL CHECK (spent >= 0),
    refunded  bigint NOT NULL CHECK (refunded >= 0),
    PRIMARY KEY (boundary, wallet_id)
);
COMMENT ON TABLE lp.earnings_checkpoints IS 'Carry-forward of lp.payable_tokens at an archive boundary: per user wallet, the sums of its ledger entries created before the boundary that lp.payable_tokens reads (wallets whose three sums are all 0 have no row). Written once per boundary by api.archive_prepare (lp.earnings_checkpoint), with the checkpoint, and covered by its seal (lp.checkpoint_digest); append-only (UPDATE, DELETE, TRUNCATE rejected). While ledger partitions below the boundary are archived, lp.payable_tokens starts from it.';
COMMENT ON COLUMN lp.earnings_checkpoints.earned IS 'Tip and hold_capture credits (positive amounts, main balance or credit shard) before the boundary: all matured, since the boundary is at least payouts.hold_days old when archived (lp.archive_horizon).';
COMMENT ON COLUMN lp.earnings_checkpoints.spent IS 'What the wallet itself paid before the boundary: tips, hold captures and negative adjustments debited from its main balance, and a refunded show''s give-back by its host.';
COMMENT ON COLUMN lp.earnings_checkpoints.refunded IS 'Refund credits to the wallet before the boundary (a tip toward a missed goal, a show''s refund).';

ALTER TABLE lp.earnings_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.earnings_checkpoints FORCE ROW LEVEL SECURITY;
CREATE TRIGGER earnings_checkpoints_append_only BEFORE UPDATE OR DELETE ON lp.earnings_checkpoints
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER earnings_checkpoints_no_truncate BEFORE TRUNCATE ON lp.earnings_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

RESET ROLE;
