-- 0040: the fraud reaction to a chargeback reaches performers on other shards (issue 12, docs/scale-out.md): the
-- buyer's shard asks, the relay delivers, the performer's shard applies the payout_hold once.
SET ROLE livepanty_owner;

-- The fraud reaction to a chargeback across shards: a payout_hold asked of the shard of a performer the buyer
-- tipped there (lp.fraud_on_chargeback writes the request beside the buyer's case; the relay delivers it once).
CREATE TABLE lp.payout_hold_requests (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    performer_id uuid NOT NULL,
    to_shard     smallint NOT NULL CHECK (to_shard >= 0),
    payment_id   uuid NOT NULL REFERENCES lp.payments (id) ON DELETE RESTRICT,
    case_id      uuid,
    tokens       bigint NOT NULL CHECK (tokens > 0),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text CHECK (char_length(last_error) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    UNIQUE (payment_id, performer_id)
);
CREATE INDEX payout_hold_requests_pending_idx ON lp.payout_hold_requests (to_shard, created_at)
    WHERE status = 'pending';
COMMENT ON TABLE lp.payout_hold_requests IS 'Owner only. On the buyer''s shard: the payout_hold a chargeback asks of the shard of a performer who received at least fraud.chargeback_share_bps of the charged-back tokens in cross-shard tips (lp.fraud_on_chargeback; a performer of this shard gets the sanction at once). The relay (livepanty-db shards relay) delivers each request exactly once (shard.apply_hold_request, keyed by id) and marks it delivered.';
COMMENT ON COLUMN lp.payout_hold_requests.performer_id IS 'A user of to_shard (no foreign key: the row is on another database).';
COMMENT ON COLUMN lp.payout_hold_requests.case_id IS 'The fraud case on this shard (lp.reports) that the hold is pending the review of.';

CREATE TABLE lp.payout_hold_receipts (
    id           uuid PRIMARY KEY,
    from_shard   smallint NOT NULL CHECK (from_shard >= 0),
    performer_id uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    sanction_id  uuid REFERENCES lp.user_sanctions (id) ON DELETE RESTRICT,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.payout_hold_receipts IS 'Owner only. On the performer''s shard: each payout_hold request of another shard, applied once (the relay''s exactly-once key), with the sanction it issued (NULL when a payout_hold was already in force).';

ALTER TABLE lp.payout_hold_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_receipts FORCE ROW LEVEL SECURITY;

RESET ROLE;
