-- 0044: a case resolved with a warning or a sanction against a user of another shard (the sender of a
-- cross-shard tip whose message was reported on the performer's shard) binds their account on their own shard
-- (issue 12, docs/scale-out.md): the case's shard asks, the relay delivers, the user's shard issues it once.
SET ROLE livepanty_owner;

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

RESET ROLE;
