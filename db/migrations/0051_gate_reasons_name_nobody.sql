-- 0051: the go-live gate's public end reason names nobody. lp.end_ungated_streams used to end a stream with the
-- reason 'go-live gate: <username>: <what they lack>[; ...]': in the stream's end_reason and its stream_ended
-- event, which every viewer of a public stream reads (a co-performer's expired identity verification or sanction
-- told to all), and in its stream.end audit row, where the username outlived the user's erasure. It now writes
-- 'go-live gate' there and puts who lacks what in the audit row by user id ({gaps: [{user_id, lacks}]}). The
-- rows it wrote before are rewritten the same way: the stream and its event say 'go-live gate'; the audit row
-- says it too, with the gaps, each username resolved to the one user of the stream's cast (host and
-- co-performers) who holds it, as lp.end_ungated_streams does, else dropped (user_id null: the user was erased
-- or renamed since). What was written cannot be put back: the rollback does nothing.
-- As the migrating superuser: row level security is forced on these tables. lp.audit_logs is append-only: its
-- trigger (lp.reject_mutation_unless_scrubbing) lets only its details and address change, and only in a
-- transaction holding the proof lp.begin_scrub makes, computed here as that function does (the repeatable
-- functions, lp.begin_scrub among them, are applied after the migrations).
SELECT set_config('lp.scrub',
                  (SELECT encode(ext.hmac(convert_to(concat_ws('|', 'lp-scrub-v1', pg_backend_pid(),
                                                               EXTRACT(epoch FROM transaction_timestamp())),
                                                     'UTF8'), s.value, 'sha256'), 'base64')
                     FROM lp.secrets AS s WHERE s.name = 'identity'),
                  true);

-- Each line of the old reason is 'username: what they lack' (a username holds no ': ', lp.users), lines are
-- separated by '; '.
UPDATE lp.audit_logs AS a
   SET details = a.details || jsonb_build_object('reason', 'go-live gate', 'gaps', (
           SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'user_id', c.user_id,
                                         'lacks', CASE WHEN strpos(g.line, ': ') > 0
                                                       THEN substr(g.line, strpos(g.line, ': ') + 2) ELSE g.line END)
                                     ORDER BY g.n), '[]'::jsonb)
             FROM unnest(string_to_array(substr(a.details ->> 'reason', char_length('go-live gate: ') + 1), '; '))
                  WITH ORDINALITY AS g (line, n)
            CROSS JOIN LATERAL (
                  SELECT CASE WHEN count(*) = 1 THEN (array_agg(u.id))[1] END AS user_id
                    FROM lp.streams AS s
                    JOIN lp.users AS u
                      ON u.id = s.host_id
                      OR u.id IN (SELECT sp.performer_id FROM lp.stream_performers AS sp WHERE sp.stream_id = s.id)
                   WHERE s.id = a.target_id::uuid
                     AND strpos(g.line, ': ') > 0
                     AND u.username::text = split_part(g.line, ': ', 1)) AS c))
 WHERE a.action = 'stream.end' AND a.target_type = 'stream'
   AND left(a.details ->> 'reason', char_length('go-live gate: ')) = 'go-live gate: ';

UPDATE lp.streams AS s SET end_reason = 'go-live gate'
 WHERE left(s.end_reason, char_length('go-live gate: ')) = 'go-live gate: ';

UPDATE lp.stream_events AS e SET payload = e.payload || '{"reason": "go-live gate"}'::jsonb
 WHERE e.kind = 'stream_ended'
   AND left(e.payload ->> 'reason', char_length('go-live gate: ')) = 'go-live gate: ';

SELECT set_config('lp.scrub', '', true);  -- the rest of the transaction is append-only again
