-- 0008_audit_logs: frozen copy of the canonical definitions as of this migration.

-- from db/schema/40_audit_logs.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.audit_logs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_role  text,
    action      text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    target_type text CHECK (target_type ~ '^[a-z][a-z_]*$'),
    target_id   text CHECK (char_length(target_id) <= 100),
    ip_address  inet,
    details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    db_role     text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE lp.audit_logs IS 'Append-only security and compliance trail: UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner. No foreign keys on purpose: entries outlive the rows they mention.';
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

RESET ROLE;
