-- Undo 0015_money_core_v2. The repeatables are dropped before this runs (the older ones re-create lp.settle_debt).
SET ROLE livepanty_owner;
COMMENT ON COLUMN lp.ledger.wallet_id IS NULL;
ALTER TABLE lp.ledger ADD CONSTRAINT ledger_wallet_id_fkey FOREIGN KEY (wallet_id) REFERENCES lp.wallets (id) ON DELETE RESTRICT;
RESET ROLE;
