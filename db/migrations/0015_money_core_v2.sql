-- 0015_money_core_v2: the lock protocol of issue 7. Frozen once landed.
--  * lp.ledger.wallet_id loses its foreign key onto lp.wallets. Its check took a key-share lock on every wallet
--    row a posting touched, at the final INSERT, after the shards the transaction already held: the lock that
--    made tips deadlock with sweeps, clawbacks, payout rejections and hold captures. api.verify_ledger proves
--    the reference instead (unknown_account: entries on an account that does not exist), and no wallet row is
--    ever deleted (no function deletes one; lp.wallets has no DELETE grant).
--  * lp.settle_debt is gone: lp.post credits a wallet in debt on its main balance and sweeps its shards itself.
--  * lp.uuid_v7(): time-ordered ids for tips and ledger transactions, so that their index inserts stay at the
--    right edge of the index instead of dirtying a random leaf (a full-page image after every checkpoint).

SET ROLE livepanty_owner;

ALTER TABLE lp.ledger DROP CONSTRAINT ledger_wallet_id_fkey;
COMMENT ON COLUMN lp.ledger.wallet_id IS 'The wallet the entry moved (lp.wallets.id). No foreign key on purpose (its key-share lock on hot wallet rows broke the lock protocol of docs/ledger.md); api.verify_ledger reports entries on an account that does not exist (unknown_account).';
DROP FUNCTION IF EXISTS lp.settle_debt(uuid);

-- from db/schema/04_id_functions.sql
CREATE FUNCTION lp.uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    SET search_path = ''
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

ALTER TABLE lp.tips ALTER COLUMN id SET DEFAULT lp.uuid_v7();

-- Only the ledger indexes a read needs (docs/ledger.md, "Indexes"); every entry paid for six.
--  * ledger_wallet_history_idx (wallet_id, id): api.wallet_history merges the wallet's accounts on
--    ledger_account_chain_idx (wallet_id, shard, id) instead;
--  * ledger_reference_idx (reference_type, reference_id): no read looks entries up by reference.
DROP INDEX lp.ledger_wallet_history_idx;
DROP INDEX lp.ledger_reference_idx;

RESET ROLE;
