-- 0029_fraud_controls: per-user spend counters and the settings of the fraud controls on money (issue 9,
-- section 4). Frozen once landed; db/schema/76_fraud_controls.sql is its canonical twin.
SET ROLE livepanty_owner;

-- Fraud controls on money (issue 9, section 4): one narrow counter row per spending user, updated in place by
-- every tip and every purchase (lp.count_spend), and the settings of the new-account caps, the velocity rules
-- and the chargeback reaction. docs/trust-and-safety.md, "Fraud controls on money".
CREATE TABLE lp.spend_counters (
    user_id             uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    account_created_at  timestamptz NOT NULL,
    first_payment_at    timestamptz,
    tip_hour            timestamptz NOT NULL DEFAULT '-infinity',
    tips_in_hour        integer NOT NULL DEFAULT 0 CHECK (tips_in_hour >= 0),
    tip_day             timestamptz NOT NULL DEFAULT '-infinity',
    tip_tokens_day      bigint NOT NULL DEFAULT 0 CHECK (tip_tokens_day >= 0),
    purchase_hour       timestamptz NOT NULL DEFAULT '-infinity',
    purchases_in_hour   integer NOT NULL DEFAULT 0 CHECK (purchases_in_hour >= 0),
    purchase_day        timestamptz NOT NULL DEFAULT '-infinity',
    purchase_tokens_day bigint NOT NULL DEFAULT 0 CHECK (purchase_tokens_day >= 0)
);
COMMENT ON TABLE lp.spend_counters IS 'Owner only. Per user: what the fraud controls need on every tip and purchase, in one row read and updated in place (lp.count_spend): the account''s age and first completed payment (the new-account test) and fixed-window counters (UTC clock hour, UTC day) of tips and purchases. Made on a user''s first spend; no application role may read it (api.get_fraud_limits shows a user their own).';
COMMENT ON COLUMN lp.spend_counters.account_created_at IS 'Copy of lp.users.created_at (the age test reads one row).';
COMMENT ON COLUMN lp.spend_counters.first_payment_at IS 'When the user''s first completed payment completed (NULL: none, or reset by a chargeback): a verified payment.';
COMMENT ON COLUMN lp.spend_counters.tip_hour IS 'The UTC clock hour tips_in_hour counts (an older hour: the counter starts again).';
COMMENT ON COLUMN lp.spend_counters.tip_day IS 'The UTC day tip_tokens_day sums.';
COMMENT ON COLUMN lp.spend_counters.purchase_hour IS 'The UTC clock hour purchases_in_hour counts (payments created).';
COMMENT ON COLUMN lp.spend_counters.purchase_day IS 'The UTC day purchase_tokens_day sums (tokens of payments created).';

ALTER TABLE lp.spend_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.spend_counters FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- Settings rows as the migrating superuser (row level security on lp.settings lets the owner write none).
-- 0 switches a cap or rule off (the defaults of the caps and velocity rules: docs/trust-and-safety.md gives
-- production values; the choice depends on the bundles sold and the audience).
INSERT INTO lp.settings (key, value, description) VALUES
    ('fraud.new_account_days',              '7',    'An account younger than this many days, or without a completed payment, is a new account (fraud.new_account_* caps).'),
    ('fraud.new_account_max_tip',           '0',    'Largest tip of a new account, in tokens (0: no cap).'),
    ('fraud.new_account_daily_tip_tokens',  '0',    'Most tokens a new account may tip per UTC day (0: no cap).'),
    ('fraud.new_account_max_purchase',      '0',    'Largest purchase (bundle tokens) of a new account (0: no cap).'),
    ('fraud.new_account_daily_purchase_tokens', '0', 'Most tokens a new account may buy per UTC day, counting payments created (0: no cap).'),
    ('fraud.tips_per_hour',                 '0',    'Velocity rule: most tips per user per UTC clock hour; the tip that reaches it opens a fraud case, later ones are refused (0: off).'),
    ('fraud.purchases_per_hour',            '0',    'Velocity rule: most payments a user may create per UTC clock hour; the one that reaches it opens a fraud case, later ones are refused (0: off).'),
    ('fraud.chargeback_window_hours',       '72',   'A chargeback puts a payout_hold on the performers tipped by the buyer within this many hours after the payment completed.'),
    ('fraud.chargeback_share_bps',          '2500', 'A chargeback puts a payout_hold on a performer who received at least this share (basis points) of the charged-back tokens within fraud.chargeback_window_hours.');
