CREATE FUNCTION lp.go_live_gaps(p_stream_id uuid, p_host_id uuid) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The go-live gate: for the host and every co-performer, what they lack to be on camera. Empty: go.
    SELECT coalesce(array_agg(format('%s: %s', u.username, array_to_string(g.gaps, ', ')) ORDER BY o.ord, u.username),
                    ARRAY[]::text[])
      FROM (SELECT p_host_id AS performer_id, 0 AS ord
            UNION ALL
            SELECT sp.performer_id, 1 FROM lp.stream_performers AS sp WHERE sp.stream_id = p_stream_id) AS o
      JOIN lp.users AS u ON u.id = o.performer_id
     CROSS JOIN LATERAL (
            SELECT array_remove(ARRAY[
                       CASE WHEN u.deleted_at IS NOT NULL OR u.role <> 'performer' THEN 'not an active performer' END,
                       lp.kyc_refusal(u.id),  -- the KYC gate: never verified, or re-verification needed
                       CASE WHEN lp.sanction_blocks(u.id, 'stream') THEN 'suspended, banned or blocked from streaming' END,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM lp.stream_consents AS c
                                              WHERE c.stream_id = p_stream_id AND c.performer_id = u.id)
                            THEN 'no consent for this stream' END], NULL) AS gaps) AS g
     WHERE cardinality(g.gaps) > 0
$$;
COMMENT ON FUNCTION lp.go_live_gaps(uuid, uuid) IS 'The go-live gate of a stream: one line per performer on camera (the host, then each co-performer) who may not appear yet, naming what is missing: an active performer account, a valid identity verification (lp.kyc_refusal, the KYC gate: never verified, or re-verification needed), no sanction in force that forbids going live (lp.sanction_blocks: a suspension, ban or stream_block), their consent for this stream. Empty when the stream may start.';
REVOKE ALL ON FUNCTION lp.go_live_gaps(uuid, uuid) FROM PUBLIC;
