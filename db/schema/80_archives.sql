-- Archiving old partitions of lp.ledger and lp.audit_logs (docs/ledger.md, "Archiving"): the sealed checkpoint
-- of every account's balance at an archive boundary, and the record of each archived partition (its file, the
-- digests that prove the file holds exactly its rows).
SET ROLE livepanty_owner;

CREATE TABLE lp.ledger_checkpoints (
    boundary      timestamptz NOT NULL,
    wallet_id     uuid NOT NULL,
    shard         smallint NOT NULL,
    balance       bigint NOT NULL,
    last_entry_id bigint NOT NULL,
    PRIMARY KEY (boundary, wallet_id, shard)
);
COMMENT ON TABLE lp.ledger_checkpoints IS 'Balance of every ledger account (wallet, shard) at an archive boundary: the balance_after and id of its last entry created before the boundary. Written once by api.archive_prepare, sealed by the checkpoint digest kept in lp.archives; append-only (UPDATE, DELETE, TRUNCATE rejected). api.verify_ledger starts each account''s chain here while partitions below the boundary are archived.';
COMMENT ON COLUMN lp.ledger_checkpoints.boundary IS 'The archive boundary (a UTC month start): entries created before it may be archived.';
COMMENT ON COLUMN lp.ledger_checkpoints.last_entry_id IS 'Id of the account''s last entry before the boundary; every entry of the account at or after the boundary has a larger id (api.archive_prepare refuses a boundary that cuts a chain otherwise).';

CREATE TABLE lp.archives (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name          text NOT NULL CHECK (table_name IN ('lp.ledger', 'lp.audit_logs')),
    partition_name      text NOT NULL CHECK (partition_name ~ '^lp_partitions\.[a-z_]+_[0-9]{4}_[0-9]{2}$'),
    range_from          timestamptz NOT NULL,
    range_to            timestamptz NOT NULL,
    boundary            timestamptz NOT NULL CHECK (range_to <= boundary),
    checkpoint_accounts integer NOT NULL,
    checkpoint_sha256   text NOT NULL CHECK (checkpoint_sha256 ~ '^[0-9a-f]{64}$'),
    file_name           text NOT NULL CHECK (char_length(file_name) BETWEEN 1 AND 1000),
    file_sha256         text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    content_sha256      text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    row_count           bigint NOT NULL CHECK (row_count >= 0),
    first_id            bigint,
    last_id             bigint,
    archived_at         timestamptz NOT NULL DEFAULT now(),
    restored_at         timestamptz
);
COMMENT ON TABLE lp.archives IS 'One row per partition archived to a file (api.archive_detach) and, once restored (api.restore_partition_finish), when it came back. Owner only: read through api.list_archives.';
COMMENT ON COLUMN lp.archives.checkpoint_sha256 IS 'The seal of the checkpoint at boundary: sha256 over its rows (lp.checkpoint_digest), checked again by api.verify_ledger (checkpoint_seal).';
COMMENT ON COLUMN lp.archives.file_sha256 IS 'sha256 of the archive file as written (compressed); a restore refuses a file that differs.';
COMMENT ON COLUMN lp.archives.content_sha256 IS 'sha256 over the sha256 of each row''s JSON text (row_to_json, UTC), in id order (lp.partition_digest): what the partition held, and what a restored partition must hold again.';
CREATE UNIQUE INDEX archives_out_idx ON lp.archives (partition_name) WHERE restored_at IS NULL;
CREATE INDEX archives_boundary_idx ON lp.archives (boundary) WHERE restored_at IS NULL;

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

ALTER TABLE lp.ledger_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger_checkpoints FORCE ROW LEVEL SECURITY;
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON lp.ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON lp.ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();
ALTER TABLE lp.archives ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.archives FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.earnings_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.earnings_checkpoints FORCE ROW LEVEL SECURITY;
CREATE TRIGGER earnings_checkpoints_append_only BEFORE UPDATE OR DELETE ON lp.earnings_checkpoints
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER earnings_checkpoints_no_truncate BEFORE TRUNCATE ON lp.earnings_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

RESET ROLE;
