-- Undo 0036_verify_indexes: the chain index without its included columns, no BRIN indexes.
SET ROLE livepanty_owner;

DROP INDEX lp.hold_captures_created_at_brin;
DROP INDEX lp.tips_created_at_brin;
DROP INDEX lp.ledger_created_at_brin;
DROP INDEX lp.ledger_account_chain_idx;
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id);

RESET ROLE;
