-- Undo 0035_ledger_archives. Refused while a partition is archived: its rows exist only in the archive file, and
-- the checkpoint the ledger's verification starts from would go with this table (restore it first:
-- livepanty-db archive restore FILE).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.archives WHERE restored_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP197',
            MESSAGE = 'partitions are archived: restore them before rolling back 0035 (livepanty-db archive list)';
    END IF;
END
$$;
DROP TABLE lp.archives;
DROP TABLE lp.ledger_checkpoints;
