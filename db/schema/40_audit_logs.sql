SET ROLE livepanty_owner;

CREATE TABLE lp.audit_logs (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_role  text,
    action      text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    target_type text CHECK (target_type ~ '^[a-z][a-z_]*$'),
    target_id   text CHECK (char_length(target_id) <= 100),
    ip_address  inet,
    details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    db_role     text NOT NULL DEFAULT session_user,
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
COMMENT ON TABLE lp.audit_logs IS 'Append-only security and compliance trail: UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner. No foreign keys on purpose: entries outlive the rows they mention. Partitioned by month of occurred_at (UTC) into lp_partitions.audit_logs_YYYY_MM, plus lp_partitions.audit_logs_default; api.maintain_partitions creates them ahead.';
COMMENT ON COLUMN lp.audit_logs.actor_id IS 'Platform user who acted (NULL for anonymous actions such as a failed login or a back-office job).';
COMMENT ON COLUMN lp.audit_logs.action IS 'Dotted verb, e.g. user.register, auth.login_failed, user.role_change.';
COMMENT ON COLUMN lp.audit_logs.target_type IS 'Kind of object acted on (user, session, sanction, setting, ...); target_id is its id.';
COMMENT ON COLUMN lp.audit_logs.details IS 'Action-specific facts as a JSON object; never secrets.';
COMMENT ON COLUMN lp.audit_logs.db_role IS 'Database login that ran the statement (session_user).';

CREATE INDEX audit_logs_actor_idx ON lp.audit_logs (actor_id, occurred_at) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_logs_target_idx ON lp.audit_logs (target_type, target_id, occurred_at);
CREATE INDEX audit_logs_action_idx ON lp.audit_logs (action, occurred_at);

ALTER TABLE lp.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.audit_logs FORCE ROW LEVEL SECURITY;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON lp.audit_logs
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON lp.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

-- The default partition, then this month's and the next three (api.maintain_partitions keeps them ahead).
CREATE TABLE lp_partitions.audit_logs_default PARTITION OF lp.audit_logs DEFAULT;
COMMENT ON TABLE lp_partitions.audit_logs_default IS 'lp.audit_logs entries of a month that has no partition yet; api.maintain_partitions moves them into their month''s partition. Reach it through lp.audit_logs.';
SELECT lp.secure_partition('lp_partitions.audit_logs_default');
SELECT lp.create_month_partition('lp.audit_logs', m)
  FROM generate_series(date_trunc('month', now(), 'UTC'), date_trunc('month', now(), 'UTC') + interval '3 months',
                       interval '1 month') AS m;

RESET ROLE;
