DROP VIEW IF EXISTS monitoring.activity CASCADE;
CREATE VIEW monitoring.activity WITH (security_invoker = false) AS
SELECT 'tip'::text AS kind, 300 AS window_seconds, count(*)::bigint AS events,
       (count(*) / 5.0)::double precision AS per_minute,
       coalesce(sum(t.amount), 0)::bigint AS tokens,
       NULL::double precision AS latency_p50_seconds, NULL::double precision AS latency_p95_seconds,
       NULL::double precision AS latency_max_seconds
  FROM lp.tips AS t
 -- the smallest time-ordered id (lp.uuid_v7) made 5 minutes ago: the tips are found through their primary
 -- key, not by reading every tip
 WHERE t.id >= encode(substring(int8send((extract(epoch FROM now() - interval '5 minutes') * 1000)::bigint) FROM 3)
                      || '\x00000000000000000000'::bytea, 'hex')::uuid
   AND t.created_at >= now() - interval '5 minutes'
UNION ALL
SELECT 'purchase', 300, count(*), count(*) / 5.0, coalesce(sum(p.tokens), 0)::bigint,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p.completed_at - p.created_at)),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p.completed_at - p.created_at)),
       max(extract(epoch FROM p.completed_at - p.created_at))::double precision
  FROM lp.payments AS p WHERE p.completed_at >= now() - interval '5 minutes'
UNION ALL
SELECT 'payout', 300, count(*), count(*) / 5.0, coalesce(sum(o.tokens), 0)::bigint,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.paid_at - o.created_at)),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.paid_at - o.created_at)),
       max(extract(epoch FROM o.paid_at - o.created_at))::double precision
  FROM lp.payouts AS o WHERE o.paid_at >= now() - interval '5 minutes';
COMMENT ON VIEW monitoring.activity IS 'The business over the last 5 minutes, from the tables'' own timestamps: tips made, purchases completed (payments), payouts paid; how many, per minute, tokens, and for purchases and payouts the latency from creation to completion (median, 95th percentile, max, in seconds; NULL when none). Tips are made in one transaction: their latency is the time of api.tip in monitoring.slow_statements.';
GRANT SELECT ON monitoring.activity TO livepanty_readonly;
