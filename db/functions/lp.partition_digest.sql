CREATE FUNCTION lp.partition_digest(p_partition regclass,
                                    OUT row_count bigint, OUT first_id bigint, OUT last_id bigint,
                                    OUT content_sha256 text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
BEGIN
    -- What a partition holds, as an archive file holds it: each row's JSON text (row_to_json, times in UTC),
    -- in id order; the digest is sha256 over the concatenated sha256 of each row (32 bytes a row, so a month
    -- of ten million entries stays far below the 1 GB value limit). livepanty_db.archive computes the same.
    EXECUTE format($q$SELECT count(*), min(t.id), max(t.id),
                             encode(ext.digest(coalesce(string_agg(ext.digest(row_to_json(t)::text, 'sha256'), ''::bytea
                                                                   ORDER BY t.id), ''::bytea), 'sha256'), 'hex')
                        FROM %s AS t$q$, p_partition)
       INTO row_count, first_id, last_id, content_sha256;
END
$$;
COMMENT ON FUNCTION lp.partition_digest(regclass) IS 'Owner only: rows, first and last id, and the content digest of a partition (or a table shaped like one): sha256 over the sha256 of each row''s row_to_json text (UTC), in id order. The archive file of the partition must give the same.';
REVOKE ALL ON FUNCTION lp.partition_digest(regclass) FROM PUBLIC;
