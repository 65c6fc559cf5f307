-- Undo 0060_ledger_transaction_age.
DELETE FROM lp.settings WHERE key = 'ledger.max_transaction_seconds';
