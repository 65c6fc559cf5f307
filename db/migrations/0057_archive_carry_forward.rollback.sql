-- Undo 0057_archive_carry_forward. Refused while ledger partitions are archived: the checkpoint's seal covers the
-- carry-forward rows, and lp.payable_tokens needs them (restore them first: livepanty-db archive restore FILE).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.archives WHERE table_name = 'lp.ledger' AND restored_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP197',
            MESSAGE = 'ledger partitions are archived: restore them before rolling back 0057 (livepanty-db archive list)';
    END IF;
END
$$;
DROP TABLE lp.earnings_checkpoints;
