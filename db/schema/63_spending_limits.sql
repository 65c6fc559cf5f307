SET ROLE livepanty_owner;

CREATE TABLE lp.spending_limits (
    user_id              uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    period               lp.limit_period NOT NULL,
    limit_tokens         bigint CHECK (limit_tokens > 0),
    pending_limit_tokens bigint CHECK (pending_limit_tokens > 0),
    pending_effective_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, period),
    CHECK (pending_limit_tokens IS NULL OR pending_effective_at IS NOT NULL)
);
COMMENT ON TABLE lp.spending_limits IS 'Caps a viewer sets on their own spending over a rolling day (24 h), week (7 days) or month (30 days). Lowering applies at once; raising or removing waits for limits.raise_cooldown_hours.';
COMMENT ON COLUMN lp.spending_limits.limit_tokens IS 'Cap in force (NULL = none).';
COMMENT ON COLUMN lp.spending_limits.pending_limit_tokens IS 'Raised cap (NULL = removal) that takes over at pending_effective_at.';

ALTER TABLE lp.spending_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.spending_limits FORCE ROW LEVEL SECURITY;
CREATE TRIGGER spending_limits_touch_updated_at BEFORE UPDATE ON lp.spending_limits
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
