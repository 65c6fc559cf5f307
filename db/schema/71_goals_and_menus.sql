-- Tip menus and tip goals (migration 0022; issue 8, section 4).
SET ROLE livepanty_owner;

CREATE TYPE lp.goal_status AS ENUM ('queued', 'active', 'reached', 'missed', 'cancelled');
COMMENT ON TYPE lp.goal_status IS 'Where a tip goal is (lp.tip_goals.status): queued behind the active one, active (tips to the stream count toward it), reached, missed (its deadline passed or the stream ended first), cancelled (by the host or an admin).';

CREATE TABLE lp.tip_menu_items (
    id           uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    performer_id uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    price        bigint NOT NULL CHECK (price > 0),
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.tip_menu_items IS 'A performer''s tip menu: named items at a price in tokens (api.set_menu_item). A tip that names an item pays exactly its price (api.tip). Items are never deleted (tips name them): a performer deactivates one instead.';
CREATE UNIQUE INDEX tip_menu_items_name_key ON lp.tip_menu_items (performer_id, lower(name));
ALTER TABLE lp.tip_menu_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_menu_items FORCE ROW LEVEL SECURITY;
CREATE TRIGGER tip_menu_items_no_delete BEFORE DELETE ON lp.tip_menu_items
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER tip_menu_items_no_truncate BEFORE TRUNCATE ON lp.tip_menu_items
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

CREATE TABLE lp.tip_goals (
    id               uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    stream_id        uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    position         integer NOT NULL CHECK (position > 0),
    description      text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 200),
    target_tokens    bigint NOT NULL CHECK (target_tokens > 0),
    deadline         timestamptz,
    refund_if_missed boolean NOT NULL DEFAULT false,
    status           lp.goal_status NOT NULL DEFAULT 'queued',
    activated_at     timestamptz,
    closed_at        timestamptz,
    close_reason     text CHECK (char_length(close_reason) <= 1000),
    settled_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    closed_by        text CHECK (closed_by IN ('host', 'admin', 'system')),
    UNIQUE (stream_id, position),
    CONSTRAINT tip_goals_closed_by_once_closed
        CHECK (closed_by IS NULL OR status IN ('reached', 'missed', 'cancelled')),
    CHECK (NOT refund_if_missed OR deadline IS NOT NULL),
    CHECK ((status IN ('queued', 'active')) = (closed_at IS NULL))
);
COMMENT ON TABLE lp.tip_goals IS 'A stream''s tip goals, in queue order (position): one active at a time, the next queued one becomes active when it closes. Tips naming the stream count toward the active goal (lp.tips.goal_id; progress in lp.tip_goal_progress). With refund_if_missed, those tips wait in the goal_escrow system wallet until the goal is reached (then the performer is paid) or missed or cancelled (then their senders get them back): api.settle_tip_goals.';
COMMENT ON COLUMN lp.tip_goals.closed_by IS 'Who closed the goal (lp.close_goal''s p_by): host or admin (api.cancel_tip_goal: the stream''s host, or an admin with a reason; also in its goal.cancel audit row, which expires), system (reached by a tip or api.settle_tip_goals, missed past its deadline, missed or cancelled when its stream ended). NULL while queued or active, and for a goal cancelled before migration 0052 that left no goal.cancel audit row saying who. The host''s erasure blanks a cancelled goal''s close_reason only when the host wrote it (docs/compliance.md).';
COMMENT ON COLUMN lp.tip_goals.settled_at IS 'When api.settle_tip_goals last released or refunded escrowed tips of the goal (refund_if_missed goals).';
CREATE UNIQUE INDEX tip_goals_one_active_key ON lp.tip_goals (stream_id) WHERE status = 'active';
CREATE INDEX tip_goals_due_idx ON lp.tip_goals (deadline) WHERE status = 'active' AND deadline IS NOT NULL;
ALTER TABLE lp.tip_goals ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_goals FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.tip_goal_progress (
    goal_id uuid NOT NULL REFERENCES lp.tip_goals (id) ON DELETE CASCADE,
    shard   smallint NOT NULL CHECK (shard BETWEEN 1 AND 64),
    tokens  bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    tips    integer NOT NULL DEFAULT 0 CHECK (tips >= 0),
    PRIMARY KEY (goal_id, shard)
);
COMMENT ON TABLE lp.tip_goal_progress IS 'An active goal''s progress, spread over streams.counter_shards rows (made when it becomes active): a tip adds to one row nobody holds (lp.add_goal_progress), so tips to one stream do not queue on one row. Progress is the sum over the rows.';
ALTER TABLE lp.tip_goal_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_goal_progress FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings and lp.wallets).
INSERT INTO lp.settings (key, value, description) VALUES
    ('goals.max_per_stream', '20', 'Most tip goals one stream may have (queued, active and closed).'),
    ('menus.max_items',      '50', 'Most active items on one performer''s tip menu.');
INSERT INTO lp.wallets (kind, system_code, shard_count) VALUES ('system', 'goal_escrow', 16);
INSERT INTO lp.wallet_shards (wallet_id, shard)
SELECT w.id, s FROM lp.wallets AS w CROSS JOIN LATERAL generate_series(1, w.shard_count) AS s
 WHERE w.system_code = 'goal_escrow';
