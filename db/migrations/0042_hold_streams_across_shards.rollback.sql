-- Undo 0042_hold_streams_across_shards. Refused while a hold names a stream this database does not hold (a
-- payee's stream on another shard): the foreign key could not be restored without losing that record.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.holds AS h
                WHERE h.stream_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM lp.streams AS s WHERE s.id = h.stream_id)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'holds name streams of another shard: this database cannot go back before 0042';
    END IF;
END
$$;
SET ROLE livepanty_owner;
ALTER TABLE lp.holds ADD CONSTRAINT holds_stream_id_fkey
    FOREIGN KEY (stream_id) REFERENCES lp.streams (id) ON DELETE SET NULL;
COMMENT ON COLUMN lp.holds.stream_id IS NULL;
RESET ROLE;
