CREATE FUNCTION lp.note_replay(p_function text, p_key text) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT set_config('livepanty.replayed', p_function || ':' || p_key, true);
$$;
COMMENT ON FUNCTION lp.note_replay(text, text) IS 'Called by a money function that answers from its idempotency key (a replay), just before it returns: sets the transaction-local setting livepanty.replayed to ''<function>:<key as passed>'' (e.g. ''api.tip:k1''), which the client reads in the same statement to flag the result as a replay (docs/api.md, "Replays"). The fresh path never calls it, so it costs nothing there; a value left from an earlier call of the transaction names another function or key, so it cannot flag a fresh result.';
REVOKE ALL ON FUNCTION lp.note_replay(text, text) FROM PUBLIC;
