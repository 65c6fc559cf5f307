-- 0060: a bound on the age of a transaction that moves tokens (lp.refuse_old_transaction, LP205). A ledger entry
-- is dated by its transaction's start; a transaction held open for days dated its tips in the past, so that
-- they counted as earnings matured long ago (payable at once, past payouts.hold_days).
INSERT INTO lp.settings (key, value, description) VALUES
    ('ledger.max_transaction_seconds', '900', 'Tokens move only in a transaction begun at most this many seconds ago (LP205): a ledger entry is dated by its transaction''s start, which the payout hold period, limits and partitions read.');
