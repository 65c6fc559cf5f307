CREATE FUNCTION lp.go_live_gaps(p_stream_id uuid, p_host_id uuid) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The go-live gate: for the host and every co-performer, what they lack to be on camera. Empty: go. A
    -- co-performer who lives on another shard (a stub here) is judged by what their own shard last said
    -- (lp.remote_gates, refreshed by the router right before it applies the gate); never asked since they were
    -- put on this stream: not verified.
    SELECT coalesce(array_agg(format('%s: %s', u.username, array_to_string(g.gaps, ', ')) ORDER BY o.ord, u.username),
                    ARRAY[]::text[])
      FROM (SELECT p_host_id AS performer_id, 0 AS ord, NULL::timestamptz AS added_at
            UNION ALL
            SELECT sp.performer_id, 1, sp.added_at FROM lp.stream_performers AS sp WHERE sp.stream_id = p_stream_id) AS o
      JOIN lp.users AS u ON u.id = o.performer_id
      LEFT JOIN lp.remote_users AS ru ON ru.user_id = u.id
      LEFT JOIN lp.remote_gates AS rg ON rg.user_id = u.id
     CROSS JOIN LATERAL (
            SELECT CASE WHEN ru.user_id IS NULL THEN lp.performer_gaps(u.id)
                        -- An answer older than their place on this stream is from before it: not one for it.
                        WHEN rg.user_id IS NULL OR rg.checked_at < o.added_at THEN ARRAY['not checked on their own shard']
                        ELSE rg.gaps
                   END
                   || CASE WHEN NOT EXISTS (SELECT 1 FROM lp.stream_consents AS c
                                             WHERE c.stream_id = p_stream_id AND c.performer_id = u.id)
                           THEN ARRAY['no consent for this stream'] ELSE ARRAY[]::text[] END AS gaps) AS g
     WHERE cardinality(g.gaps) > 0
$$;
COMMENT ON FUNCTION lp.go_live_gaps(uuid, uuid) IS 'The go-live gate of a stream: one line per performer on camera (the host, then each co-performer) who may not appear yet, naming what is missing: what lp.performer_gaps says of them (an active performer account, a valid identity verification, no sanction in force that forbids going live), and their consent for this stream. A co-performer who lives on another shard of a sharded installation is judged by what their own shard last said (lp.remote_gates, refreshed by the router before the gate is applied; never asked since they were put on this stream: ''not checked on their own shard''). Empty when the stream may start.';
REVOKE ALL ON FUNCTION lp.go_live_gaps(uuid, uuid) FROM PUBLIC;
