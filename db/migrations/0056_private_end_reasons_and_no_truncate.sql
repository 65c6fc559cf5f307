-- 0056: (1) a stream the platform ends because of one performer tells viewers only that the gate ended it;
-- (2) TRUNCATE of the identity verification records is refused (below).
-- (1) lp.end_streams_of (a ban, suspension or stream block: 'performer <type>'; a role change: 'performer became
-- <role>'; api.expire_kyc_approvals: 'identity verification expired: re-verification needed') and an acted
-- flag of api.raise_flag ('automated moderation: <category>') wrote that specific reason into the stream's
-- end_reason and its stream_ended event, which every viewer of a public stream reads: a co-performer's sanction
-- or lapsed verification told to all. They now write 'go-live gate' there, as lp.end_ungated_streams does since
-- 0051, and put who and why in the stream.end audit row ({gaps: [{user_id, lacks}]}). The rows they wrote before
-- are rewritten the same way: the stream and its event say 'go-live gate'; the audit row says it too, with the
-- old reason as what the user lacks, by the id of the one user it is about, found from what the ending left in
-- the same transaction (its time is the stream's ended_at): the cast member the sanction of that type was issued
-- to, whose role was changed to that role (user.role_change), whose approval expired (kyc.approval_expired), or
-- the user the acted flag of that category names; else the one member of a cast of one; else nobody (user_id
-- null). Only streams the system ended (ended_by gate, or NULL: ended before 0052 with no evidence left, whose
-- reason is one of those exact codes). An account's deletion or erasure ('account deleted', 'account erased')
-- stays public. What was written cannot be put back: the rollback leaves the data as it is.

-- As the migrating superuser: row level security is forced on these tables. lp.audit_logs is append-only: its
-- trigger (lp.reject_mutation_unless_scrubbing) lets only its details and address change, and only in a
-- transaction holding the proof lp.begin_scrub makes, computed here as that function does (as in 0051).
SELECT set_config('lp.scrub',
                  (SELECT encode(ext.hmac(convert_to(concat_ws('|', 'lp-scrub-v1', pg_backend_pid(),
                                                               EXTRACT(epoch FROM transaction_timestamp())),
                                                     'UTF8'), s.value, 'sha256'), 'base64')
                     FROM lp.secrets AS s WHERE s.name = 'identity'),
                  true);

CREATE TEMPORARY TABLE m0056_ended ON COMMIT DROP AS
SELECT s.id, s.end_reason AS reason, s.ended_at, c.kind, c.what
  FROM lp.streams AS s
  JOIN (SELECT 'sanction' AS kind, t AS what, 'performer ' || t AS reason
          FROM unnest(ARRAY['suspension', 'ban', 'stream_block']) AS t
        UNION ALL
        SELECT 'role', r::text, 'performer became ' || r::text FROM unnest(enum_range(NULL::lp.user_role)) AS r
        UNION ALL
        SELECT 'kyc', NULL, 'identity verification expired: re-verification needed'
        UNION ALL
        SELECT 'flag', f::text, 'automated moderation: ' || f::text FROM unnest(enum_range(NULL::lp.flag_category)) AS f
       ) AS c ON c.reason = s.end_reason
 WHERE s.status IN ('ended', 'cancelled') AND (s.ended_by = 'gate' OR s.ended_by IS NULL);

-- Whom each ending was about.
ALTER TABLE m0056_ended ADD COLUMN user_id uuid;
UPDATE m0056_ended AS e
   SET user_id = coalesce(
       CASE WHEN e.kind = 'flag' THEN
           (SELECT CASE WHEN count(DISTINCT f.user_id) = 1 THEN (array_agg(f.user_id))[1] END
              FROM lp.moderation_flags AS f
             WHERE f.stream_id = e.id AND f.category::text = e.what AND f.created_at = e.ended_at
               AND f.disposition = 'acted')
       ELSE
           (SELECT CASE WHEN count(*) = 1 THEN (array_agg(c.user_id))[1] END
              FROM (SELECT s.host_id AS user_id FROM lp.streams AS s WHERE s.id = e.id
                    UNION
                    SELECT sp.performer_id FROM lp.stream_performers AS sp WHERE sp.stream_id = e.id) AS c
             WHERE CASE e.kind
                       WHEN 'sanction' THEN EXISTS (
                           SELECT 1 FROM lp.user_sanctions AS us
                            WHERE us.user_id = c.user_id AND us.sanction_type::text = e.what
                              AND us.created_at = e.ended_at)
                       WHEN 'role' THEN EXISTS (
                           SELECT 1 FROM lp.audit_logs AS a
                            WHERE a.action = 'user.role_change' AND a.target_type = 'user'
                              AND a.target_id = c.user_id::text AND a.details ->> 'to' = e.what
                              AND a.occurred_at = e.ended_at)
                       ELSE EXISTS (
                           SELECT 1 FROM lp.audit_logs AS a
                            WHERE a.action = 'kyc.approval_expired' AND a.details ->> 'user_id' = c.user_id::text
                              AND a.occurred_at = e.ended_at)
                   END)
       END,
       -- A cast of one: the ending was about its only performer.
       (SELECT CASE WHEN count(*) = 1 THEN (array_agg(c.user_id))[1] END
          FROM (SELECT s.host_id AS user_id FROM lp.streams AS s WHERE s.id = e.id
                UNION
                SELECT sp.performer_id FROM lp.stream_performers AS sp WHERE sp.stream_id = e.id) AS c
         WHERE e.kind <> 'flag'));

UPDATE lp.audit_logs AS a
   SET details = a.details || jsonb_build_object('reason', 'go-live gate',
                                                 'gaps', jsonb_build_array(jsonb_build_object('user_id', e.user_id,
                                                                                              'lacks', e.reason)))
  FROM m0056_ended AS e
 WHERE a.action = 'stream.end' AND a.target_type = 'stream' AND a.target_id = e.id::text
   AND a.details ->> 'reason' = e.reason;

UPDATE lp.stream_events AS v SET payload = v.payload || '{"reason": "go-live gate"}'::jsonb
  FROM m0056_ended AS e
 WHERE v.stream_id = e.id AND v.kind = 'stream_ended' AND v.payload ->> 'reason' = e.reason;

-- A correction of what the row says, no change of the stream: updated_at stays as it was.
ALTER TABLE lp.streams DISABLE TRIGGER streams_touch_updated_at;
UPDATE lp.streams AS s SET end_reason = 'go-live gate' FROM m0056_ended AS e WHERE s.id = e.id;
ALTER TABLE lp.streams ENABLE TRIGGER streams_touch_updated_at;

SELECT set_config('lp.scrub', '', true);  -- the rest of the transaction is append-only again

-- (2) The records of approved identity verifications are kept, for every role including the owner: the row
-- triggers lp.kyc_record_frozen and lp.kyc_aliases_frozen refuse their change and deletion (LP130), but TRUNCATE
-- fires no row trigger and deleted them all at once. A statement trigger now refuses it (LP130), as
-- lp.reject_mutation does for the append-only tables (canonical: db/schema/73_kyc_lifecycle.sql).
SET ROLE livepanty_owner;

CREATE FUNCTION lp.kyc_records_kept() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'LP130',
        MESSAGE = pg_catalog.format('%s.%s keeps the records of approved identity verifications: %s is not allowed',
                                    TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Records are destroyed at the end of their retention only (lp.destroy_kyc_records).';
END
$$;
COMMENT ON FUNCTION lp.kyc_records_kept() IS 'Statement trigger of lp.kyc_verifications and lp.kyc_aliases: rejects TRUNCATE (LP130), for every role including the owner, which the row triggers lp.kyc_record_frozen and lp.kyc_aliases_frozen cannot see. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_records_kept() FROM PUBLIC;
CREATE TRIGGER kyc_verifications_no_truncate BEFORE TRUNCATE ON lp.kyc_verifications
    FOR EACH STATEMENT EXECUTE FUNCTION lp.kyc_records_kept();
CREATE TRIGGER kyc_aliases_no_truncate BEFORE TRUNCATE ON lp.kyc_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION lp.kyc_records_kept();

RESET ROLE;
