-- Id generators the tables' defaults need (schema objects, not repeatable definitions: a column default
-- depends on them).
SET ROLE livepanty_owner;

-- No SET search_path (owner-only, every name qualified; the exception docs/CONVENTIONS.md allows): a SQL
-- function with a SET clause is never inlined, and this one runs twice per tip.

CREATE FUNCTION lp.uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
    -- RFC 9562 version 7: 48 bits of Unix time in milliseconds, then random bits (those of a version 4 uuid,
    -- whose variant bits are already right); the version nibble becomes 0111 (bits 4 and 5 of byte 6 set).
    -- Ids made one after another sort one after another, so index inserts stay at the right edge.
    SELECT pg_catalog.encode(
               pg_catalog.set_bit(
                   pg_catalog.set_bit(
                       pg_catalog.overlay(
                           pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
                           pg_catalog.substring(
                               pg_catalog.int8send(pg_catalog.floor(
                                   pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint),
                               3),
                           1, 6),
                       52, 1),
                   53, 1),
               'hex')::uuid
$$;
COMMENT ON FUNCTION lp.uuid_v7() IS 'A time-ordered uuid (RFC 9562 version 7: millisecond Unix time, then 74 random bits), for ids inserted at a high rate (tips, ledger transactions): consecutive ids land on the same index page instead of a random one.';
REVOKE ALL ON FUNCTION lp.uuid_v7() FROM PUBLIC;

RESET ROLE;
