CREATE FUNCTION api.ledger_stats(p_chunk_wallets integer DEFAULT 1000)
RETURNS TABLE (chunk integer, wallet_from uuid, wallet_to uuid, wallets bigint, entries bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET jit = off  -- compiling the big chunk queries costs more than it saves
AS $$
BEGIN
    PERFORM lp.verify_authorize();
    IF p_chunk_wallets IS NULL OR p_chunk_wallets < 1 OR p_chunk_wallets > 10000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'chunk size must be between 1 and 10000000 wallets';
    END IF;
    -- Chunks of p_chunk_wallets wallets in id order, contiguous and open at both ends (the first starts at
    -- NULL, each ends just before the next one's first wallet, the last ends at NULL): together they cover
    -- every wallet id, including wallets created after this call.
    RETURN QUERY
    WITH numbered AS (
        SELECT w.id, row_number() OVER (ORDER BY w.id) - 1 AS n, count(*) OVER () AS total
          FROM lp.wallets AS w
    ), starts AS (
        SELECT (nb.n / p_chunk_wallets)::integer AS c, nb.id AS first_id, nb.total
          FROM numbered AS nb WHERE nb.n % p_chunk_wallets = 0
    ), bounds AS (
        SELECT st.c, CASE WHEN st.c = 0 THEN NULL ELSE st.first_id END AS w_from,
               lp.verify_uuid_before(lead(st.first_id) OVER (ORDER BY st.c)) AS w_to,
               least(p_chunk_wallets::bigint, st.total - st.c::bigint * p_chunk_wallets) AS n_wallets
          FROM starts AS st
    )
    SELECT b.c + 1, b.w_from, b.w_to, b.n_wallets, e.n
      FROM bounds AS b
     CROSS JOIN LATERAL (SELECT count(*) AS n FROM lp.ledger AS l
                          WHERE l.wallet_id BETWEEN coalesce(b.w_from, '00000000-0000-0000-0000-000000000000')
                                                AND coalesce(b.w_to, 'ffffffff-ffff-ffff-ffff-ffffffffffff')) AS e
     ORDER BY b.c;
END
$$;
COMMENT ON FUNCTION api.ledger_stats(integer) IS 'Plan of a chunked ledger verification: the wallets split into chunks of p_chunk_wallets (1..10000000, LP018) in id order, each with its inclusive wallet-id range (NULL = open; the ranges are contiguous and cover every id), its number of wallets and of ledger entries (for a progress bar). Verify with api.verify_ledger(wallet_from, wallet_to, p_global => false) per chunk and p_global => true for the last one (the global check runs once); run the whole plan in one REPEATABLE READ READ ONLY transaction for a single consistent snapshot. The livepanty_service role, or an acting admin (LP001 / LP002 otherwise).';
REVOKE ALL ON FUNCTION api.ledger_stats(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.ledger_stats(integer) TO livepanty_app, livepanty_service;
