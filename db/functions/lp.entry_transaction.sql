CREATE FUNCTION lp.entry_transaction(p_id bigint, p_created_at timestamptz) RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT l.transaction_id FROM lp.ledger AS l WHERE l.id = p_id AND l.created_at = p_created_at
$$;
COMMENT ON FUNCTION lp.entry_transaction(bigint, timestamptz) IS 'Owner only: the ledger transaction of the entry (p_id, p_created_at), NULL for none; api.verify_ledger names it in a reported violation (its account pass reads the chain index, which does not carry it).';
REVOKE ALL ON FUNCTION lp.entry_transaction(bigint, timestamptz) FROM PUBLIC;
