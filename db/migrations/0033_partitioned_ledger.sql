-- 0033: lp.ledger partitioned by month of created_at (docs/ledger.md, "Partitions"): the schema lp_partitions,
-- the owner-only helpers lp.secure_partition and lp.create_month_partition, the partitioned lp.ledger with its
-- default partition and a partition per month from the oldest entry's month to three months ahead. Every
-- existing entry is copied with its id, in id order; the identity continues where it was. The old table's views
-- are dropped with it and re-created by the repeatables.
CREATE SCHEMA lp_partitions AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA lp_partitions IS 'Monthly partitions of lp.ledger and lp.audit_logs (and their default partitions). No USAGE for any role but the owner: read and write them through their parent tables.';

SET ROLE livepanty_owner;

CREATE FUNCTION lp.secure_partition(p_partition regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_parent name;
BEGIN
    -- PostgreSQL applies a partitioned table's policies and grants only to statements that name the parent,
    -- and clones its row triggers to every partition but not its statement triggers (TRUNCATE). So each
    -- partition gets its own: row level security forced with an owner-only policy (a role that reached it
    -- directly would see and write nothing), no privilege for any role, and the no-truncate trigger.
    SELECT p.relname INTO v_parent
      FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS p ON p.oid = i.inhparent
     WHERE i.inhrelid = p_partition;
    IF v_parent IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%s is not a partition', p_partition);
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_partition);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_partition);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy AS p WHERE p.polrelid = p_partition) THEN
        EXECUTE format('CREATE POLICY "owner code only" ON %s FOR ALL TO livepanty_owner USING (true) WITH CHECK (true)',
                       p_partition);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS t
                    WHERE t.tgrelid = p_partition AND t.tgname = v_parent || '_no_truncate') THEN
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation()',
                       v_parent || '_no_truncate', p_partition);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.secure_partition(regclass) IS 'Owner only: makes a partition of lp.ledger or lp.audit_logs as safe to reach directly as through its parent: row level security enabled and forced with an owner-only policy, no privilege for PUBLIC, the parent''s no-truncate statement trigger (row triggers are cloned by PostgreSQL).';
REVOKE ALL ON FUNCTION lp.secure_partition(regclass) FROM PUBLIC;

CREATE FUNCTION lp.create_month_partition(p_parent regclass, p_month timestamptz,
                                          OUT partition_name text, OUT created boolean, OUT moved bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_table   name;
    v_key     name;
    v_default regclass;
    v_from    timestamptz := date_trunc('month', p_month, 'UTC');
    v_to      timestamptz := date_trunc('month', p_month, 'UTC') + interval '1 month';
    v_new     regclass;
BEGIN
    -- The partition of p_parent for the UTC month holding p_month: created unless it exists. Rows of that
    -- month waiting in the default partition are moved into it first (same ids, id order): the default
    -- partition catches what arrives before its month's partition exists, and is emptied here.
    SELECT c.relname, a.attname, pt.partdefid::regclass INTO v_table, v_key, v_default
      FROM pg_catalog.pg_partitioned_table AS pt
      JOIN pg_catalog.pg_class AS c ON c.oid = pt.partrelid
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
     WHERE pt.partrelid = p_parent AND pt.partstrat = 'r';
    IF v_table IS NULL OR p_month IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%s is not a range-partitioned table', p_parent);
    END IF;
    partition_name := format('lp_partitions.%I', v_table || '_' || to_char(v_from AT TIME ZONE 'UTC', 'YYYY_MM'));
    created := false;
    moved := 0;
    IF to_regclass(partition_name) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, p_parent);
    v_new := partition_name::regclass;
    IF v_default IS NOT NULL THEN
        EXECUTE format('INSERT INTO %s SELECT * FROM %s WHERE %I >= $1 AND %I < $2 ORDER BY 1',
                       v_new, v_default, v_key, v_key) USING v_from, v_to;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved > 0 THEN
            -- The only DELETE the append-only triggers let through: the rows were just copied, in this
            -- transaction, into the partition attached below.
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', v_default);
            EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2', v_default, v_key, v_key) USING v_from, v_to;
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', v_default);
        END IF;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', p_parent, v_new, v_from, v_to);
    PERFORM lp.secure_partition(v_new);
    EXECUTE format('COMMENT ON TABLE %s IS %L', v_new,
                   format('%s entries of %s (UTC). Reach it through %s.', p_parent,
                          to_char(v_from AT TIME ZONE 'UTC', 'YYYY-MM'), p_parent));
    created := true;
END
$$;
COMMENT ON FUNCTION lp.create_month_partition(regclass, timestamptz) IS 'Owner only: creates the partition of lp.ledger or lp.audit_logs for the UTC month holding p_month (lp_partitions.<table>_YYYY_MM) unless it exists, moving that month''s rows out of the default partition into it (ids and order kept), and secures it (lp.secure_partition). Attached with ATTACH PARTITION (a SHARE UPDATE EXCLUSIVE lock on the parent: reads and writes go on). Returns its name, whether it was created and how many rows moved.';
REVOKE ALL ON FUNCTION lp.create_month_partition(regclass, timestamptz) FROM PUBLIC;


-- The unpartitioned table steps aside under another name (its index and sequence names are taken back).
ALTER TABLE lp.ledger RENAME TO ledger_unpartitioned;
ALTER INDEX lp.ledger_pkey RENAME TO ledger_unpartitioned_pkey;
DROP INDEX lp.ledger_wallet_created_at_idx, lp.ledger_transaction_idx, lp.ledger_account_chain_idx;
ALTER SEQUENCE lp.ledger_id_seq RENAME TO ledger_unpartitioned_id_seq;
ALTER TABLE lp.ledger_unpartitioned DROP CONSTRAINT ledger_amount_check, DROP CONSTRAINT ledger_check,
    DROP CONSTRAINT ledger_description_check, DROP CONSTRAINT ledger_entry_kind_check,
    DROP CONSTRAINT ledger_reference_type_check, DROP CONSTRAINT ledger_shard_check;

CREATE TABLE lp.ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id uuid NOT NULL,
    wallet_id      uuid NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_before bigint NOT NULL,
    balance_after  bigint NOT NULL,
    entry_kind     text NOT NULL CHECK (entry_kind IN (
                       'purchase', 'refund', 'chargeback', 'write_off', 'tip', 'tip_fee', 'hold_capture',
                       'hold_fee', 'payout', 'payout_return', 'payout_paid', 'adjustment', 'sweep')),
    reference_type text NOT NULL CHECK (reference_type IN (
                       'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep', 'show')),
    reference_id   uuid NOT NULL,
    description    text CHECK (char_length(description) <= 500),
    created_at     timestamptz NOT NULL DEFAULT now(),
    shard          smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 64),
    CHECK (balance_after = balance_before + amount),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
COMMENT ON TABLE lp.ledger IS 'Immutable, append-only token history (double entry): every movement is one transaction_id whose entries sum to zero. UPDATE, DELETE and TRUNCATE are rejected by triggers, also for the owner. Partitioned by month of created_at (UTC) into lp_partitions.ledger_YYYY_MM, plus lp_partitions.ledger_default for rows of a month without its partition; api.maintain_partitions creates them ahead. The key is (id, created_at): ids stay unique as they come from one identity.';
COMMENT ON COLUMN lp.ledger.wallet_id IS 'The wallet the entry moved (lp.wallets.id). No foreign key on purpose (its key-share lock on hot wallet rows broke the lock protocol of docs/ledger.md); api.verify_ledger reports entries on an account that does not exist (unknown_account).';
COMMENT ON COLUMN lp.ledger.transaction_id IS 'Groups the entries of one movement; they sum to zero.';
COMMENT ON COLUMN lp.ledger.amount IS 'Signed token amount: positive credits the wallet, negative debits it.';
COMMENT ON COLUMN lp.ledger.balance_before IS 'Wallet balance just before this entry.';
COMMENT ON COLUMN lp.ledger.balance_after IS 'Wallet balance just after this entry (= balance_before + amount).';
COMMENT ON COLUMN lp.ledger.entry_kind IS 'What the entry is: purchase, refund, chargeback, write_off (loss booked), tip, tip_fee (platform fee), hold_capture, hold_fee, payout, payout_return, payout_paid, adjustment, sweep (shard to main).';
COMMENT ON COLUMN lp.ledger.shard IS 'Which account of the wallet the entry moved: 0 = the main balance (lp.wallets.balance), n > 0 = credit shard n (lp.wallet_shards). balance_before/after are that account''s.';
COMMENT ON COLUMN lp.ledger.reference_type IS 'Kind of business object the entry belongs to; reference_id is its id.';

CREATE INDEX ledger_wallet_created_at_idx ON lp.ledger (wallet_id, created_at);
CREATE INDEX ledger_transaction_idx ON lp.ledger (transaction_id);
CREATE INDEX ledger_account_chain_idx ON lp.ledger (wallet_id, shard, id);

ALTER TABLE lp.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON lp.ledger
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON lp.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

-- The default partition, then this month's and the next three (api.maintain_partitions keeps them ahead).
CREATE TABLE lp_partitions.ledger_default PARTITION OF lp.ledger DEFAULT;
COMMENT ON TABLE lp_partitions.ledger_default IS 'lp.ledger entries of a month that has no partition yet; api.maintain_partitions moves them into their month''s partition. Reach it through lp.ledger.';
SELECT lp.secure_partition('lp_partitions.ledger_default');
SELECT lp.create_month_partition('lp.ledger', m)
  FROM generate_series(date_trunc('month', now(), 'UTC'), date_trunc('month', now(), 'UTC') + interval '3 months',
                       interval '1 month') AS m;

-- The months of the existing entries, then every entry, in id order, with its id. Row level security is lifted
-- for the copy (the repeatable policies are not there during a run of every migration) and forced again.
ALTER TABLE lp.ledger_unpartitioned NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger NO FORCE ROW LEVEL SECURITY;
SELECT lp.create_month_partition('lp.ledger', m)
  FROM generate_series(date_trunc('month', (SELECT min(o.created_at) FROM lp.ledger_unpartitioned AS o), 'UTC'),
                       date_trunc('month', now(), 'UTC'), interval '1 month') AS m;
INSERT INTO lp.ledger OVERRIDING SYSTEM VALUE SELECT * FROM lp.ledger_unpartitioned ORDER BY id;
SELECT setval('lp.ledger_id_seq', s.last_value, s.is_called) FROM lp.ledger_unpartitioned_id_seq AS s;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
DROP TABLE lp.ledger_unpartitioned CASCADE;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.locks).
INSERT INTO lp.locks (name, description) VALUES
    ('ledger.partitions', 'Taken by api.maintain_partitions (and the archive functions) so that one run at a time creates, attaches or detaches partitions of lp.ledger and lp.audit_logs.');
