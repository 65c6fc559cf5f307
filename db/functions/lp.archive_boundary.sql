CREATE FUNCTION lp.archive_boundary() RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The newest boundary below which a ledger partition is archived (not restored): api.verify_ledger starts
    -- each chain from the checkpoint there. NULL: the whole ledger is in the database.
    SELECT max(a.boundary) FROM lp.archives AS a WHERE a.table_name = 'lp.ledger' AND a.restored_at IS NULL
$$;
COMMENT ON FUNCTION lp.archive_boundary() IS 'Owner only: the newest archive boundary with a ledger partition still archived (NULL: none); api.verify_ledger checks the ledger from the checkpoint there.';
REVOKE ALL ON FUNCTION lp.archive_boundary() FROM PUBLIC;
