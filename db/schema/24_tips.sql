SET ROLE livepanty_owner;

CREATE TABLE lp.tips (
    id              uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    sender_id       uuid NOT NULL,
    recipient_id    uuid NOT NULL,
    stream_id       uuid REFERENCES lp.streams (id) ON DELETE SET NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    fee_amount      bigint NOT NULL CHECK (fee_amount >= 0),
    message         text CHECK (char_length(message) <= 500),
    is_anonymous    boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'completed' CHECK (status IN ('completed', 'refunded', 'escrowed')),
    transaction_id  uuid NOT NULL,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    goal_id         uuid,
    menu_item_id    uuid,
    settlement_id   uuid,
    CHECK (sender_id <> recipient_id),
    CHECK (fee_amount <= amount),
    -- The key first: time-ordered keys (new_idempotency_key()) are claimed at the index's right edge (0067).
    UNIQUE (idempotency_key, sender_id)
);
COMMENT ON TABLE lp.tips IS 'Tips from a viewer to a performer, optionally during a stream. The token movement is the ledger transaction transaction_id; the platform fee goes to the fee wallet in the same transaction.';
COMMENT ON COLUMN lp.tips.sender_id IS 'The user who tipped (lp.users.id; on a shard, the stub of a user of another shard for a tip received from there, lp.transfers_in). No foreign key on purpose (its key-share lock on the user row at every tip, migration 0048): api.verify_ledger reports a tip whose sender or recipient has no wallet (tip_transaction), a tip received from another shard excepted (its sender''s wallet is on their shard).';
COMMENT ON COLUMN lp.tips.recipient_id IS 'The performer tipped (lp.users.id; on a shard, never a stub: tips across shards are lp.transfers_out / lp.transfers_in). No foreign key, as for sender_id.';
COMMENT ON COLUMN lp.tips.amount IS 'Tokens paid by the sender (gross).';
COMMENT ON COLUMN lp.tips.fee_amount IS 'Platform fee part of amount; the performer receives amount - fee_amount.';
COMMENT ON COLUMN lp.tips.is_anonymous IS 'Sender hidden from the performer and the public (never from admins).';
COMMENT ON COLUMN lp.tips.goal_id IS 'The stream''s goal the tip counted toward (lp.tip_goals), if any. No foreign key on purpose: its key-share lock would make the goal row one every tip to the stream writes.';
COMMENT ON COLUMN lp.tips.menu_item_id IS 'The tip menu item the tip bought (lp.tip_menu_items; the tip paid its price), if any. No foreign key, as for goal_id.';
COMMENT ON COLUMN lp.tips.settlement_id IS 'For a tip held in escrow for a refund_if_missed goal: the ledger transaction that paid it to the performer (status completed) or back to the sender (status refunded).';
COMMENT ON COLUMN lp.tips.idempotency_key IS 'Caller-chosen key, unique per sender: a retry with the same key returns the original tip.';

CREATE INDEX tips_recipient_idx ON lp.tips (recipient_id, created_at DESC);
CREATE INDEX tips_sender_idx ON lp.tips (sender_id, created_at DESC);
CREATE INDEX tips_stream_idx ON lp.tips (stream_id, created_at) WHERE stream_id IS NOT NULL;
CREATE INDEX tips_escrowed_idx ON lp.tips (goal_id) WHERE status = 'escrowed';
-- The verification's transaction pass reads the tips of one period (migration 0036).
CREATE INDEX tips_created_at_brin ON lp.tips USING brin (created_at);

ALTER TABLE lp.tips ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tips FORCE ROW LEVEL SECURITY;

RESET ROLE;
