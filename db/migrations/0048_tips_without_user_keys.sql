-- 0048: lp.tips.sender_id and recipient_id lose their foreign keys onto lp.users (issue 7, "no foreign keys
-- onto hot rows where verify_ledger already proves the reference"). Each tip's two checks took FOR KEY SHARE
-- on both user rows: a heap lock record in the WAL for each, and a MultiXact whenever two tips to one
-- performer overlapped (every tip of a busy stream). Both ids are checked by the tip itself (the sender is the
-- authenticated user, the recipient is read in the tip's validation query) and every such user has a wallet,
-- whose own key onto lp.users (RESTRICT) keeps the user row; api.verify_ledger_period reports a tip whose
-- sender or recipient has no wallet (tip_transaction). docs/benchmarks.md has the A/B. Dropping the keys takes
-- ACCESS EXCLUSIVE on lp.tips and lp.users for a moment (no scan).
SET ROLE livepanty_owner;
ALTER TABLE lp.tips DROP CONSTRAINT tips_sender_id_fkey, DROP CONSTRAINT tips_recipient_id_fkey;
COMMENT ON COLUMN lp.tips.sender_id IS 'The user who tipped (lp.users.id; on a shard, the stub of a user of another shard for a tip received from there, lp.transfers_in). No foreign key on purpose (its key-share lock on the user row at every tip, migration 0048): api.verify_ledger reports a tip whose sender or recipient has no wallet (tip_transaction), a tip received from another shard excepted (its sender''s wallet is on their shard).';
COMMENT ON COLUMN lp.tips.recipient_id IS 'The performer tipped (lp.users.id; on a shard, never a stub: tips across shards are lp.transfers_out / lp.transfers_in). No foreign key, as for sender_id.';
RESET ROLE;
