-- 0036: the indexes of the ledger verification's two passes (docs/ledger.md, "Verification"):
-- * ledger_account_chain_idx carries the columns the account pass reads (amount, balance_before, balance_after,
--   created_at), so the chain of every account is read from the index alone (an index-only scan once VACUUM
--   has marked the pages all-visible; the ledger is append-only, so autovacuum's insert threshold does that);
--   api.balance_at's backward walk reads it the same way;
-- * BRIN indexes on created_at of lp.ledger, lp.tips and lp.hold_captures let the transaction pass read one
--   period of entries, tips and captures (all written in time order) without scanning a whole partition.
--   A BRIN index is a few pages per million rows, and an insert into the last, unsummarised block range costs
--   almost nothing.
-- Building them locks out writes to those tables for the time of the build (seconds per million entries).
SET ROLE livepanty_owner;

DROP INDEX lp.ledger_account_chain_idx;
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id)
    INCLUDE (amount, balance_before, balance_after, created_at);
CREATE INDEX ledger_created_at_brin ON lp.ledger USING brin (created_at);
CREATE INDEX tips_created_at_brin ON lp.tips USING brin (created_at);
CREATE INDEX hold_captures_created_at_brin ON lp.hold_captures USING brin (created_at);

RESET ROLE;
