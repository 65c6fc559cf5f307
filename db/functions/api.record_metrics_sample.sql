CREATE FUNCTION api.record_metrics_sample() RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_at timestamptz := clock_timestamp();
BEGIN
    -- On a replica nothing can be written: the samples replicated from the primary serve it.
    INSERT INTO lp.metric_samples (taken_at, wal_lsn, database_bytes, table_bytes)
    SELECT v_at,
           CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
           pg_database_size(current_database()),
           coalesce((SELECT jsonb_object_agg(t.table_name, t.bytes) FROM monitoring.relation_sizes AS t), '{}')
    ON CONFLICT (taken_at) DO NOTHING;
    -- A week of samples is plenty for "growth since the last sample"; the latest one always stays.
    DELETE FROM lp.metric_samples AS s WHERE s.taken_at < v_at - interval '7 days';
    RETURN v_at;
END
$$;
COMMENT ON FUNCTION api.record_metrics_sample() IS 'Back office (livepanty-db metrics, or a scheduled job): records the current WAL position and the database and lp table sizes in lp.metric_samples, from which the monitoring views compute the WAL rate and the growth since the latest sample; samples older than 7 days are deleted. Returns the sample''s time.';
REVOKE ALL ON FUNCTION api.record_metrics_sample() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.record_metrics_sample() TO livepanty_service;
