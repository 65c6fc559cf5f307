-- Undo 0034_partitioned_audit_logs: the unpartitioned lp.audit_logs again, every entry copied back with its id,
-- in id order.
SET ROLE livepanty_owner;
ALTER TABLE lp.audit_logs RENAME TO audit_logs_partitioned;
ALTER INDEX lp.audit_logs_pkey RENAME TO audit_logs_partitioned_pkey;
DROP INDEX lp.audit_logs_actor_idx, lp.audit_logs_target_idx, lp.audit_logs_action_idx, lp.audit_logs_ip_idx,
    lp.audit_logs_ip_age_idx;
ALTER SEQUENCE lp.audit_logs_id_seq RENAME TO audit_logs_partitioned_id_seq;
ALTER TABLE lp.audit_logs_partitioned DROP CONSTRAINT audit_logs_action_check, DROP CONSTRAINT audit_logs_details_check,
    DROP CONSTRAINT audit_logs_target_id_check, DROP CONSTRAINT audit_logs_target_type_check;

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
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation_unless_scrubbing('ip_address', 'details');
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON lp.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

CREATE INDEX audit_logs_ip_idx ON lp.audit_logs (ip_address) WHERE ip_address IS NOT NULL;
CREATE INDEX audit_logs_ip_age_idx ON lp.audit_logs (occurred_at) WHERE ip_address IS NOT NULL;

-- Row level security is lifted for the copy (the policies were dropped with the repeatables) and forced again.
ALTER TABLE lp.audit_logs_partitioned NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.audit_logs NO FORCE ROW LEVEL SECURITY;
INSERT INTO lp.audit_logs OVERRIDING SYSTEM VALUE SELECT * FROM lp.audit_logs_partitioned ORDER BY id;
SELECT setval('lp.audit_logs_id_seq', s.last_value, s.is_called) FROM lp.audit_logs_partitioned_id_seq AS s;
ALTER TABLE lp.audit_logs FORCE ROW LEVEL SECURITY;
DROP TABLE lp.audit_logs_partitioned CASCADE;

RESET ROLE;
