-- 0059: a dismissal of a buyer's fraud case lifts the payout_holds its chargeback asked of other shards (issue 12,
-- docs/scale-out.md): the buyer's shard asks, the relay delivers after the hold request itself, the performer's
-- shard revokes the hold that request issued, once.
SET ROLE livepanty_owner;

-- A dismissal of the buyer's case lifts the payout_holds it asked of other shards (migration 0059): the lift
-- request on the buyer's shard, one per payout_hold request, the receipt on the performer's. The dismissal
-- (api.resolve_case) finds the hold requests of its case by the index.
CREATE INDEX payout_hold_requests_case_idx ON lp.payout_hold_requests (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE lp.payout_hold_lifts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hold_request_id uuid NOT NULL UNIQUE REFERENCES lp.payout_hold_requests (id) ON DELETE RESTRICT,
    to_shard        smallint NOT NULL CHECK (to_shard >= 0),
    case_id         uuid NOT NULL REFERENCES lp.reports (id) ON DELETE RESTRICT,
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    lifted_by       uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text CHECK (char_length(last_error) <= 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX payout_hold_lifts_pending_idx ON lp.payout_hold_lifts (to_shard, created_at) WHERE status = 'pending';
COMMENT ON TABLE lp.payout_hold_lifts IS 'Owner only. On the buyer''s shard: the lift of a payout_hold asked of another shard (lp.payout_hold_requests), written by api.resolve_case when it dismisses the fraud case the hold was pending the review of, one per hold request. The relay (livepanty-db shards relay) delivers each exactly once (shard.apply_hold_lift, keyed by id), never before its hold request was delivered, and marks it delivered.';
COMMENT ON COLUMN lp.payout_hold_lifts.hold_request_id IS 'The payout_hold request whose hold this lifts: on to_shard its receipt (lp.payout_hold_receipts, same id) names the sanction it issued, the only one this lift revokes.';
COMMENT ON COLUMN lp.payout_hold_lifts.reason IS 'The revoke reason of the lift, as a dismissal gives a performer''s payout_hold on one node (case dismissed; the statement of reasons about the buyer stays on the buyer''s shard).';
COMMENT ON COLUMN lp.payout_hold_lifts.lifted_by IS 'The moderator or admin who dismissed the case; the lift names them on the performer''s shard too (their stub there, made at delivery when missing).';

CREATE TABLE lp.payout_hold_lift_receipts (
    id              uuid PRIMARY KEY,
    from_shard      smallint NOT NULL CHECK (from_shard >= 0),
    hold_receipt_id uuid NOT NULL UNIQUE REFERENCES lp.payout_hold_receipts (id) ON DELETE RESTRICT,
    case_id         uuid NOT NULL,
    sanction_id     uuid REFERENCES lp.user_sanctions (id) ON DELETE RESTRICT,
    outcome         text NOT NULL CHECK (outcome IN ('lifted', 'already_lifted', 'no_hold')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'no_hold') = (sanction_id IS NULL))
);
COMMENT ON TABLE lp.payout_hold_lift_receipts IS 'Owner only. On the performer''s shard: each payout_hold lift of another shard, applied once (the relay''s exactly-once key, the lift''s id): lifted (the sanction the hold request issued, revoked now), already_lifted (a moderator had lifted it: left as it was) or no_hold (the hold request issued none).';
COMMENT ON COLUMN lp.payout_hold_lift_receipts.hold_receipt_id IS 'The receipt of the payout_hold request the lift names (lp.payout_hold_receipts): its sanction is the one lifted.';
COMMENT ON COLUMN lp.payout_hold_lift_receipts.case_id IS 'The dismissed fraud case on from_shard (lp.reports there).';

ALTER TABLE lp.payout_hold_lifts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_lifts FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_lift_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_lift_receipts FORCE ROW LEVEL SECURITY;

RESET ROLE;
