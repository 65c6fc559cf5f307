-- Undo 0029_fraud_controls (the repeatable functions that use these objects are dropped before this runs).
DELETE FROM lp.settings WHERE key IN ('fraud.new_account_days', 'fraud.new_account_max_tip',
                                      'fraud.new_account_daily_tip_tokens', 'fraud.new_account_max_purchase',
                                      'fraud.new_account_daily_purchase_tokens', 'fraud.tips_per_hour',
                                      'fraud.purchases_per_hour', 'fraud.chargeback_window_hours',
                                      'fraud.chargeback_share_bps');
SET ROLE livepanty_owner;
DROP TABLE lp.spend_counters;
RESET ROLE;
