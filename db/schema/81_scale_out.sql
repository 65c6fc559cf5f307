SET ROLE livepanty_owner;

-- Scale-out over shards (issue 12, docs/scale-out.md): on a shard database, which shard it is, and the two
-- halves of a cross-shard tip. A single-node installation leaves all three empty.
CREATE TABLE lp.shard_self (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    shard       smallint NOT NULL CHECK (shard >= 0),
    shard_count smallint NOT NULL CHECK (shard_count IN (1, 2, 4, 8, 16, 32, 64)),
    CHECK (shard < shard_count)
);
COMMENT ON TABLE lp.shard_self IS 'Owner only. On a shard of a sharded installation, its number and the number of shards (set by shard.configure); no row on a single node. Every call routed to this database names the shard it meant, and a call meant for another shard is refused (LP201).';

CREATE TABLE lp.transfers_out (
    id              uuid PRIMARY KEY,
    sender_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    recipient_id    uuid NOT NULL,
    to_shard        smallint NOT NULL CHECK (to_shard >= 0),
    -- 0 only for a refund of a tip that brought 0 tokens (a fee of the whole amount; the fee goes back).
    amount          bigint NOT NULL CONSTRAINT transfers_out_amount_check
                        CHECK (amount > 0 OR (amount = 0 AND refund_of IS NOT NULL)),
    fee_amount      bigint NOT NULL CHECK (fee_amount >= 0 AND fee_amount <= amount),
    message         text CHECK (char_length(message) <= 500),
    is_anonymous    boolean NOT NULL DEFAULT false,
    stream_id       uuid,
    menu_item_id    uuid,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    transaction_id  uuid NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text CHECK (char_length(last_error) <= 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    hold_id         uuid REFERENCES lp.holds (id) ON DELETE RESTRICT,
    refund_of       uuid,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX transfers_out_pending_idx ON lp.transfers_out (to_shard, created_at) WHERE status = 'pending';
CREATE INDEX transfers_out_sender_idx ON lp.transfers_out (sender_id, created_at DESC);
-- One key names one tip of a sender; captures (hold_id) and refunds (refund_of) are outside that rule. The key
-- leads (migration 0068): time-ordered keys are claimed at the index's right edge.
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (idempotency_key, sender_id)
    WHERE hold_id IS NULL AND refund_of IS NULL;
CREATE INDEX transfers_out_hold_idx ON lp.transfers_out (hold_id) WHERE hold_id IS NOT NULL;
CREATE UNIQUE INDEX transfers_out_refund_idx ON lp.transfers_out (refund_of) WHERE refund_of IS NOT NULL;
-- One period's rows for api.verify_ledger_period (migration 0045): appended in time order.
CREATE INDEX transfers_out_created_brin ON lp.transfers_out USING brin (created_at);
COMMENT ON TABLE lp.transfers_out IS 'Owner only. The outbox of cross-shard tips on the sender''s shard: one row per tip whose performer lives on another shard, written in the transaction that debits the sender (sender -amount, platform fees +fee, the in-transit wallet of to_shard +(amount - fee): ledger reference transfer, id). The relay (livepanty-db shards relay) applies the credit on to_shard exactly once (shard.transfer_in, keyed by id) and marks the row delivered.';
COMMENT ON COLUMN lp.transfers_out.id IS 'The transfer id: the key of the credit on the performer''s shard (lp.transfers_in.id) and of both ledger transactions'' reference.';
COMMENT ON COLUMN lp.transfers_out.recipient_id IS 'The performer, a user of to_shard (no foreign key: the row is on another database).';
COMMENT ON COLUMN lp.transfers_out.stream_id IS 'The performer''s live stream the tip names (on to_shard; no foreign key): the credit there records the tip in the stream (lp.tips, its goal, its event).';
COMMENT ON COLUMN lp.transfers_out.idempotency_key IS 'The sender''s idempotency key of the tip; one key names one tip, same-shard (lp.tips) or cross-shard (here).';
COMMENT ON COLUMN lp.transfers_out.hold_id IS 'The hold of this shard when the row is a capture of it for a payee of to_shard (lp.capture_hold; the capture''s own key in idempotency_key); NULL for a tip.';
COMMENT ON COLUMN lp.transfers_out.refund_of IS 'On the performer''s shard: the escrowed cross-shard tip (lp.tips.id = its transfer id) this row sends back to its sender on to_shard, its goal missed or cancelled (api.settle_tip_goals; amount = what the escrow held, fee 0). At most one per tip. NULL for a tip or a capture.';
COMMENT ON COLUMN lp.transfers_out.status IS 'pending: the credit is in transit (the relay has not confirmed it); delivered: applied on to_shard.';

CREATE TABLE lp.transfers_in (
    id             uuid PRIMARY KEY,
    from_shard     smallint NOT NULL CHECK (from_shard >= 0),
    sender_id      uuid NOT NULL,
    recipient_id   uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    tip_amount     bigint NOT NULL CHECK (tip_amount > 0),
    amount         bigint NOT NULL CHECK (amount >= 0 AND amount <= tip_amount),
    is_anonymous   boolean NOT NULL DEFAULT false,
    transaction_id uuid NOT NULL,
    sent_at        timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    hold_id        uuid,
    refund_of      uuid
);
CREATE INDEX transfers_in_recipient_idx ON lp.transfers_in (recipient_id, created_at);
CREATE UNIQUE INDEX transfers_in_refund_idx ON lp.transfers_in (refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX transfers_in_created_brin ON lp.transfers_in USING brin (created_at);
COMMENT ON TABLE lp.transfers_in IS 'Owner only. Cross-shard tips credited on the performer''s shard, one row per transfer id (the relay''s exactly-once key): the in-transit wallet of from_shard -amount, the performer +amount (ledger reference transfer, id).';
COMMENT ON COLUMN lp.transfers_in.sender_id IS 'The tipping user, a user of from_shard (no foreign key: the row is on another database).';
COMMENT ON COLUMN lp.transfers_in.hold_id IS 'The hold on from_shard when the transfer is a capture of it (the credit is entry kind hold_capture, and no tip is recorded); NULL for a tip.';
COMMENT ON COLUMN lp.transfers_in.refund_of IS 'On the sender''s shard: the cross-shard tip (lp.transfers_out.id) this transfer gave back to its sender, its goal missed on from_shard (the sender credited with the whole tip: amount from the in-transit wallet, the fee from this shard''s platform fees). At most one per tip. NULL otherwise.';
COMMENT ON COLUMN lp.transfers_in.amount IS 'What came out of the in-transit wallet: for a tip or a capture what the performer received (or the goal escrow holds), the amount less the fee the sender''s shard kept; for a refund (refund_of) what the escrow sent back (the sender is credited tip_amount, the fee coming from this shard''s platform fees).';

CREATE TABLE lp.remote_users (
    user_id    uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    home_shard smallint NOT NULL CHECK (home_shard >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.remote_users IS 'Owner only. On a shard: the users of other shards who acted here through the router (watching a stream, an admin on an object of this shard). Each has a stub row in lp.users (id, username, platform role; a placeholder address under .invalid, an unusable password, no date of birth of theirs) so that what they do here references them like a local user; their account, money and sanctions stay on home_shard. Written by shard.ensure_user.';

ALTER TABLE lp.remote_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.remote_users FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.shard_self ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.shard_self FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_out ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_out FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_in ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_in FORCE ROW LEVEL SECURITY;

-- The ledger names cross-shard transfers (reference transfer; entry kind transfer for the in-transit legs).
ALTER TABLE lp.ledger
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (entry_kind IN (
        'purchase', 'refund', 'chargeback', 'write_off', 'tip', 'tip_fee', 'hold_capture',
        'hold_fee', 'payout', 'payout_return', 'payout_paid', 'adjustment', 'sweep', 'transfer')),
    DROP CONSTRAINT ledger_reference_type_check,
    ADD CONSTRAINT ledger_reference_type_check CHECK (reference_type IN (
        'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep', 'show', 'transfer'));

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

-- Cases resolved against users of other shards (migration 0044): the request on the case's shard, the receipt
-- on the user's.
CREATE TABLE lp.sanction_requests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    to_shard      smallint NOT NULL CHECK (to_shard >= 0),
    case_id       uuid NOT NULL REFERENCES lp.reports (id) ON DELETE RESTRICT,
    sanction_type lp.sanction_type NOT NULL,
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    ends_at       timestamptz,
    issued_by     uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    text CHECK (char_length(last_error) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    UNIQUE (case_id)
);
CREATE INDEX sanction_requests_pending_idx ON lp.sanction_requests (to_shard, created_at) WHERE status = 'pending';
COMMENT ON TABLE lp.sanction_requests IS 'Owner only. On the shard of a case (lp.reports) whose reported user is the stub of a user of another shard: the warning or sanction api.resolve_case decided, asked of the user''s own shard (to_shard), one per case. The relay (livepanty-db shards relay) delivers each exactly once (shard.apply_sanction_request, keyed by id) and marks it delivered.';
COMMENT ON COLUMN lp.sanction_requests.user_id IS 'The reported user''s stub here (lp.remote_users); their account lives on to_shard.';
COMMENT ON COLUMN lp.sanction_requests.issued_by IS 'The moderator or admin who resolved the case; the sanction names them on the user''s shard too (their stub there, made at delivery when missing).';

CREATE TABLE lp.sanction_receipts (
    id          uuid PRIMARY KEY,
    from_shard  smallint NOT NULL CHECK (from_shard >= 0),
    case_id     uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    sanction_id uuid REFERENCES lp.user_sanctions (id) ON DELETE RESTRICT,
    outcome     text NOT NULL CHECK (outcome IN ('issued', 'lapsed', 'user_deleted', 'refused_staff')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'issued') = (sanction_id IS NOT NULL))
);
CREATE INDEX sanction_receipts_sanction_idx ON lp.sanction_receipts (sanction_id) WHERE sanction_id IS NOT NULL;
COMMENT ON TABLE lp.sanction_receipts IS 'Owner only. On the reported user''s shard: each sanction request of another shard, applied once (the relay''s exactly-once key): issued (with the sanction), lapsed (its end had passed on arrival: nothing to bind), user_deleted (the account was deleted meanwhile) or refused_staff (the user is a moderator or admin on their shard and the issuer no admin: the rule of api.sanction_user, against the role the case''s shard may have seen stale).';
COMMENT ON COLUMN lp.sanction_receipts.case_id IS 'The case on from_shard (lp.reports there) that decided the sanction.';

ALTER TABLE lp.sanction_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_receipts FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.remote_gates (
    user_id    uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    gaps       text[] NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.remote_gates IS 'Owner only. On a stream''s shard: for each co-performer who lives on another shard (a stub here), what their own shard last said they lack to be on camera (lp.performer_gaps there: an active performer account, a valid identity verification, no sanction that forbids streaming; empty: nothing). Written only by the router (shard.note_gates), right before api.start_stream and api.check_stream_key and before each api.sweep_viewers; read by lp.go_live_gaps. A stub with no row here fails the gate.';
COMMENT ON COLUMN lp.remote_gates.checked_at IS 'When the router last asked the user''s own shard.';
ALTER TABLE lp.remote_gates ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.remote_gates FORCE ROW LEVEL SECURITY;

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
