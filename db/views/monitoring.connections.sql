DROP VIEW IF EXISTS monitoring.connections CASCADE;
CREATE VIEW monitoring.connections WITH (security_invoker = false) AS
SELECT s.state,
       count(b.state)::integer AS connections,
       (count(*) FILTER (WHERE b.waiting_on_lock))::integer AS waiting_on_lock,
       coalesce(max(b.state_seconds), 0) AS oldest_state_seconds,
       coalesce(max(b.transaction_seconds), 0) AS oldest_transaction_seconds
  FROM (VALUES (1, 'active'), (2, 'idle'), (3, 'idle in transaction'), (4, 'idle in transaction (aborted)'),
               (5, 'fastpath function call'), (6, 'disabled'), (7, 'unknown')) AS s (n, state)
  LEFT JOIN monitoring.list_backends() AS b ON b.state = s.state
 GROUP BY s.n, s.state
 ORDER BY s.n;
COMMENT ON VIEW monitoring.connections IS 'Client connections to this database (the reader''s own left out) by state, every state listed (0 when none): how many, how many wait on a lock, the age in seconds of the oldest one in the state and of the oldest open transaction among them.';
GRANT SELECT ON monitoring.connections TO livepanty_readonly;
