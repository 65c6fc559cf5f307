-- 0052: a stream says on its row who ended it (lp.streams.ended_by: host, admin or gate, lp.close_stream's p_by),
-- and a goal who closed it (lp.tip_goals.closed_by: host, admin or system, lp.close_goal's p_by), as a show does
-- (lp.shows.ended_by). The erasure of a host used to read who ended each of their streams from
-- its stream_ended event and its stream.end audit row, and to blank the end reason unless one of them said an
-- admin or the gate: both expire (events after events.retention_days, audit months when api.archive_detach drops
-- their partition), after which it blanked the reasons staff and the system wrote ('moderation: <rule>',
-- 'performer ban', an admin's reason) as if the host had written them; likewise a cancelled goal's close reason
-- unless its goal.cancel audit row said an admin. The erasure now reads the rows.
-- Existing ended and cancelled streams get who ended them from the evidence still present (the stream_ended
-- event, else the stream.end audit row; both were always written with 'by'); where none is left, ended_by stays
-- NULL and the erasure keeps reading the evidence (none: the reason counts as the host's, as before). Goals:
-- a reached or missed goal was closed by the system (nothing else reaches or misses one); a cancelled one by
-- whom its goal.cancel audit row says (api.cancel_tip_goal, always with 'by'), else NULL (a queued goal its
-- stream's end cancelled, 'stream ended', left no such row: the erasure keeps that code either way).
SET ROLE livepanty_owner;

ALTER TABLE lp.streams ADD COLUMN ended_by text CHECK (ended_by IN ('host', 'admin', 'gate'));
ALTER TABLE lp.streams
    ADD CONSTRAINT streams_ended_by_once_ended CHECK (ended_by IS NULL OR status IN ('ended', 'cancelled'));
ALTER TABLE lp.tip_goals ADD COLUMN closed_by text CHECK (closed_by IN ('host', 'admin', 'system'));
ALTER TABLE lp.tip_goals
    ADD CONSTRAINT tip_goals_closed_by_once_closed CHECK (closed_by IS NULL OR status IN ('reached', 'missed', 'cancelled'));
COMMENT ON COLUMN lp.tip_goals.closed_by IS 'Who closed the goal (lp.close_goal''s p_by): host or admin (api.cancel_tip_goal: the stream''s host, or an admin with a reason; also in its goal.cancel audit row, which expires), system (reached by a tip or api.settle_tip_goals, missed past its deadline, missed or cancelled when its stream ended). NULL while queued or active, and for a goal cancelled before migration 0052 that left no goal.cancel audit row saying who. The host''s erasure blanks a cancelled goal''s close_reason only when the host wrote it (docs/compliance.md).';
COMMENT ON COLUMN lp.streams.ended_by IS 'Who ended or cancelled the stream (lp.close_stream''s p_by, also in its stream_ended event and stream.end audit row, which expire): host (api.end_stream by the host), admin (api.end_stream by an admin, api.resolve_case), gate (the system: the go-live gate, a ban, suspension, role change, deletion or erasure of someone on camera, automated moderation; a scheduled stream the host''s erasure cancels). NULL while scheduled or live, and for a stream ended before migration 0052 that left no event or audit row saying who. The host''s erasure blanks end_reason only when the host wrote it (docs/compliance.md).';

RESET ROLE;

-- As the migrating superuser (row level security is forced on these tables; the policies are repeatables,
-- applied after the migrations). The backfill is no change of the stream: updated_at stays as it was.
ALTER TABLE lp.streams DISABLE TRIGGER streams_touch_updated_at;

UPDATE lp.streams AS s SET ended_by = x.by
  FROM (SELECT DISTINCT ON (e.stream_id) e.stream_id, e.payload ->> 'by' AS by
          FROM lp.stream_events AS e
         WHERE e.kind = 'stream_ended' AND e.payload ->> 'by' IN ('host', 'admin', 'gate')
         ORDER BY e.stream_id, e.tx DESC, e.id DESC) AS x
 WHERE s.id = x.stream_id AND s.status IN ('ended', 'cancelled') AND s.ended_by IS NULL;

UPDATE lp.streams AS s SET ended_by = x.by
  FROM (SELECT DISTINCT ON (a.target_id) a.target_id, a.details ->> 'by' AS by
          FROM lp.audit_logs AS a
         WHERE a.action = 'stream.end' AND a.target_type = 'stream' AND a.details ->> 'by' IN ('host', 'admin', 'gate')
         ORDER BY a.target_id, a.occurred_at DESC, a.id DESC) AS x
 WHERE x.target_id = s.id::text AND s.status IN ('ended', 'cancelled') AND s.ended_by IS NULL;

ALTER TABLE lp.streams ENABLE TRIGGER streams_touch_updated_at;

UPDATE lp.tip_goals AS g SET closed_by = 'system' WHERE g.status IN ('reached', 'missed') AND g.closed_by IS NULL;

UPDATE lp.tip_goals AS g SET closed_by = x.by
  FROM (SELECT DISTINCT ON (a.target_id) a.target_id, a.details ->> 'by' AS by
          FROM lp.audit_logs AS a
         WHERE a.action = 'goal.cancel' AND a.target_type = 'tip_goal' AND a.details ->> 'by' IN ('host', 'admin')
         ORDER BY a.target_id, a.occurred_at DESC, a.id DESC) AS x
 WHERE x.target_id = g.id::text AND g.status = 'cancelled' AND g.closed_by IS NULL;
