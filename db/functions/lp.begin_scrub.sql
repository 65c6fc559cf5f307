CREATE FUNCTION lp.begin_scrub() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- The proof lp.reject_mutation_unless_scrubbing checks: bound to this backend and this transaction, keyed by
    -- lp.secrets 'identity', so neither a role that sets lp.scrub by hand nor a later transaction can use it.
    PERFORM set_config('lp.scrub',
                       (SELECT encode(ext.hmac(convert_to(concat_ws('|', 'lp-scrub-v1', pg_backend_pid(),
                                                                    EXTRACT(epoch FROM transaction_timestamp())),
                                                          'UTF8'), s.value, 'sha256'), 'base64')
                          FROM lp.secrets AS s WHERE s.name = 'identity'),
                       true);
END
$$;
COMMENT ON FUNCTION lp.begin_scrub() IS 'Owner only: lets this transaction scrub personal data from append-only tables (the columns their lp.reject_mutation_unless_scrubbing trigger names). Called by lp.erase_personal_data, api.purge_personal_data and api.restore_partition (which re-applies the erasures to a restored audit month) only.';
REVOKE ALL ON FUNCTION lp.begin_scrub() FROM PUBLIC;
