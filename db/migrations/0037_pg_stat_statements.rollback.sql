-- Undo 0037_pg_stat_statements: drop the extension from schema ext (its statistics go with it; a copy that a
-- DBA had installed in ext before 0037 is dropped too, one in another schema is left alone).
DO $pgss$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension
                WHERE extname = 'pg_stat_statements' AND extnamespace = 'ext'::regnamespace) THEN
        DROP EXTENSION pg_stat_statements;
    END IF;
END
$pgss$;
COMMENT ON SCHEMA ext IS 'Extensions used by livepanty (citext, pgcrypto).';
