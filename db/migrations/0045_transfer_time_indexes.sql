-- 0045: the cross-shard checks of api.verify_ledger_period read one period's lp.transfers_out and
-- lp.transfers_in rows by created_at; without a time index each period scanned the whole table (one month's
-- rows read with the check's filter, of 1,000,000 over 12 months: 160 ms, 29 ms with this index of 24 kB). BRIN:
-- both tables are appended in time order, and a block range summary costs next to nothing per tip.
SET ROLE livepanty_owner;
CREATE INDEX transfers_out_created_brin ON lp.transfers_out USING brin (created_at);
CREATE INDEX transfers_in_created_brin ON lp.transfers_in USING brin (created_at);
RESET ROLE;
