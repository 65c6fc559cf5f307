-- 0042: a hold may name the live stream of a payee of another shard (issue 12, docs/scale-out.md, "Holds and
-- captures across shards"). The stream lives on the payee's shard and the hold on the holder's, so the hold's
-- stream_id loses its foreign key; the payee's shard checks the stream when the hold is placed. The API never
-- deletes a stream (it marks it), so the key's ON DELETE SET NULL did not act through the API.
SET ROLE livepanty_owner;
ALTER TABLE lp.holds DROP CONSTRAINT holds_stream_id_fkey;
COMMENT ON COLUMN lp.holds.stream_id IS 'The payee''s live stream the hold was placed for, if any (checked when placed: api.place_hold). No foreign key: on a sharded installation the stream may live on the payee''s shard while the hold lives on the holder''s (docs/scale-out.md); the API never deletes a stream, it only marks it.';
RESET ROLE;
