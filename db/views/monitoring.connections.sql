DROP VIEW IF EXISTS monitoring.connections CASCADE;
CREATE VIEW monitoring.connections WITH (security_invoker = false) AS
SELECT s.state,
       count(b.state)::integer AS connections,
       (count(*) FILTER (WHERE b.waiting_on_lock))::integer AS waiting_on_lock,
       coalesce(max(b.state_seconds), 0) AS oldest_state_seconds,
       coalesce(max(b.transaction_seconds), 0) AS oldest_transaction_seconds
  FROM (VALUES ('active'), ('idle'), ('idle in transaction'), ('idle in transaction (aborted)'),
               ('fastpath function call'), ('disabled'), ('unknown')) AS s (state)
  LEFT JOIN monitoring.list_backends() AS b ON b.state = s.state
 GROUP BY s.state;
COMMENT ON VIEW monitoring.connections IS 'Client connections to this database (the reader''s own left out) by state, every state listed (0 when none): how many, how many wait on a lock, the age in seconds of the oldest one in the state and of the oldest open transaction among them.';
GRANT SELECT ON monitoring.connections TO livepanty_readonly;
