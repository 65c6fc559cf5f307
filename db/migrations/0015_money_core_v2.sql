-- 0015_money_core_v2: the lock protocol of issue 7. Frozen once landed.
--  * lp.ledger.wallet_id loses its foreign key onto lp.wallets. Its check took a key-share lock on every wallet
--    row a posting touched, at the final INSERT, after the shards the transaction already held: the lock that
--    made tips deadlock with sweeps, clawbacks, payout rejections and hold captures. api.verify_ledger proves
--    the reference instead (unknown_account: entries on an account that does not exist), and no wallet row is
--    ever deleted (no function deletes one; lp.wallets has no DELETE grant).
--  * lp.settle_debt is gone: lp.post credits a wallet in debt on its main balance and sweeps its shards itself.

SET ROLE livepanty_owner;

ALTER TABLE lp.ledger DROP CONSTRAINT ledger_wallet_id_fkey;
COMMENT ON COLUMN lp.ledger.wallet_id IS 'The wallet the entry moved (lp.wallets.id). No foreign key on purpose (its key-share lock on hot wallet rows broke the lock protocol of docs/ledger.md); api.verify_ledger reports entries on an account that does not exist (unknown_account).';
DROP FUNCTION IF EXISTS lp.settle_debt(uuid);

RESET ROLE;
