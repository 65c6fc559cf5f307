SET ROLE livepanty_owner;

CREATE TABLE lp.idempotency_keys (
    scope      text NOT NULL CHECK (scope ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
    key        text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 128),
    request    jsonb NOT NULL,
    response   jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
COMMENT ON TABLE lp.idempotency_keys IS 'Idempotency of state transitions (complete/fail/refund a payment, approve/reject/pay a payout, release a hold, ...): the first call with a key stores its request and response; a replay with the same request returns the stored response, a different request is rejected (LP106). Creations use a unique key column on their own table instead.';
COMMENT ON COLUMN lp.idempotency_keys.scope IS 'The operation, e.g. payments.complete.';

ALTER TABLE lp.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.idempotency_keys FORCE ROW LEVEL SECURITY;

RESET ROLE;
