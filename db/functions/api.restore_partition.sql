CREATE FUNCTION api.restore_partition(p_archive_id uuid, p_rows text[] DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    v_arch   lp.archives;
    v_table  text;
    v_parent regclass;
    v_count  bigint;
    v_now    record;
BEGIN
    PERFORM 1 FROM lp.locks AS k WHERE k.name = 'ledger.partitions' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.locks row ledger.partitions is missing';
    END IF;
    SELECT * INTO v_arch FROM lp.archives AS a WHERE a.id = p_archive_id AND a.restored_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP196', MESSAGE = format('no archived partition %s waits to be restored', p_archive_id);
    END IF;
    -- The partition's own name back (lp.archives allows only lp_partitions.<table>_YYYY_MM), quoted.
    v_table := format('%I.%I', 'lp_partitions', split_part(v_arch.partition_name, '.', 2));
    v_parent := v_arch.table_name::regclass;
    -- Rows: into a standalone table of the parent's shape (created on the first call), in the caller's order.
    IF p_rows IS NOT NULL THEN
        IF to_regclass(v_table) IS NULL THEN
            EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_table::text, v_parent);
        END IF;
        EXECUTE format('INSERT INTO %s SELECT (json_populate_record(NULL::%s, r::json)).* FROM unnest($1) WITH ORDINALITY AS u (r, n) ORDER BY n',
                       v_table::regclass, v_parent) USING p_rows;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        RETURN v_count;
    END IF;
    -- Finish: the restored rows must be exactly the archived ones (count and content digest), then attach.
    IF to_regclass(v_table) IS NULL THEN
        EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_table::text, v_parent);
    END IF;
    SELECT * INTO v_now FROM lp.partition_digest(v_table::regclass);
    IF v_now.row_count <> v_arch.row_count OR v_now.content_sha256 <> v_arch.content_sha256 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP195',
            MESSAGE = format('the restored rows are not those archived from %s', v_table),
            DETAIL = format('archived: %s rows, %s; restored: %s rows, %s', v_arch.row_count, v_arch.content_sha256,
                            v_now.row_count, v_now.content_sha256);
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', v_parent, v_table::regclass,
                   v_arch.range_from, v_arch.range_to);
    PERFORM lp.secure_partition(v_table::regclass);
    EXECUTE format('COMMENT ON TABLE %s IS %L', v_table::regclass,
                   format('%s entries of %s (UTC). Reach it through %s.', v_arch.table_name,
                          to_char(v_arch.range_from AT TIME ZONE 'UTC', 'YYYY-MM'), v_arch.table_name));
    UPDATE lp.archives SET restored_at = now() WHERE id = v_arch.id;
    PERFORM lp.audit('partitions.restore', 'partition', v_table,
                     jsonb_build_object('archive_id', v_arch.id, 'rows', v_now.row_count));
    RETURN v_now.row_count;
END
$$;
COMMENT ON FUNCTION api.restore_partition(uuid, text[]) IS 'Back office (livepanty_service), livepanty-db archive restore, in one transaction: each call with p_rows (row_to_json texts from the archive file, in file order) adds them to a standalone copy of the archived partition and returns how many it added; the final call without p_rows checks that the copy holds exactly the archived rows (count and content digest: LP195 otherwise, and the transaction leaves nothing), attaches and secures it, marks the archive restored and audits it (partitions.restore). LP196 when the archive does not exist or is restored already.';
REVOKE ALL ON FUNCTION api.restore_partition(uuid, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.restore_partition(uuid, text[]) TO livepanty_service;
