-- Undo 0015_money_core_v2. The repeatables are dropped before this runs (the older ones re-create lp.settle_debt).
SET ROLE livepanty_owner;
CREATE INDEX ledger_wallet_history_idx ON lp.ledger (wallet_id, id);
CREATE INDEX ledger_reference_idx ON lp.ledger (reference_type, reference_id);
ALTER TABLE lp.tips ALTER COLUMN id SET DEFAULT gen_random_uuid();
DROP FUNCTION lp.uuid_v7();
COMMENT ON COLUMN lp.ledger.wallet_id IS NULL;
ALTER TABLE lp.ledger ADD CONSTRAINT ledger_wallet_id_fkey FOREIGN KEY (wallet_id) REFERENCES lp.wallets (id) ON DELETE RESTRICT;
RESET ROLE;
