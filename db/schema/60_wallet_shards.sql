SET ROLE livepanty_owner;

CREATE TABLE lp.wallet_shards (
    wallet_id  uuid NOT NULL REFERENCES lp.wallets (id) ON DELETE RESTRICT,
    shard      smallint NOT NULL CHECK (shard BETWEEN 1 AND 64),
    balance    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (wallet_id, shard)
);
COMMENT ON TABLE lp.wallet_shards IS 'Credit shards of hot wallets (performers, system wallets): concurrent credits each lock a different shard row instead of one wallet row. Every shard is an account with its own ledger chain (lp.ledger.shard); the wallet''s total is balance + the sum of its shards. Sweeps move shard balances to the main balance.';
COMMENT ON COLUMN lp.wallet_shards.balance IS 'Tokens credited to this shard and not yet swept (system wallets: may be negative, e.g. issuance).';

ALTER TABLE lp.wallet_shards ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallet_shards FORCE ROW LEVEL SECURITY;

RESET ROLE;
