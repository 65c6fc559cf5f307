-- 0067: a tip's idempotency key is claimed in a unique index that leads with the key, (idempotency_key,
-- sender_id), instead of (sender_id, idempotency_key). Same uniqueness (a key is unique per sender), same
-- lookups (both columns are always given). What changes is where an insert lands: keyed by sender first,
-- each tip dirtied a leaf in its sender's part of the index, and after every checkpoint the first touch of each
-- such leaf wrote a full-page image: the largest single source of WAL growth as lp.tips grows
-- (docs/benchmarks.md, "Flat cost"). Keyed by the key first, time-ordered keys (livepanty_db's
-- new_idempotency_key() makes UUIDv7-layout keys since this change) land at the right edge of the index, as
-- time-ordered tip ids do. Random keys still work; they land on a random leaf, as before.
-- Building the index locks out tips for the time of the build (seconds per million tips).
SET ROLE livepanty_owner;

ALTER TABLE lp.tips DROP CONSTRAINT tips_sender_id_idempotency_key_key;
ALTER TABLE lp.tips ADD CONSTRAINT tips_idempotency_key_sender_id_key UNIQUE (idempotency_key, sender_id);

RESET ROLE;
