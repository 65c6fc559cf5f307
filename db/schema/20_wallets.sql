SET ROLE livepanty_owner;

CREATE TABLE lp.wallets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind            text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'system')),
    user_id         uuid UNIQUE REFERENCES lp.users (id) ON DELETE RESTRICT,
    system_code     text UNIQUE CHECK (system_code ~ '^[a-z][a-z0-9_]{2,40}$'),
    balance         bigint NOT NULL DEFAULT 0,
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    currency        text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    tokens_per_unit integer NOT NULL DEFAULT 100 CHECK (tokens_per_unit > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    debt_since      timestamptz,
    shard_count     smallint NOT NULL DEFAULT 0 CHECK (shard_count BETWEEN 0 AND 64),
    CHECK ((kind = 'user') = (user_id IS NOT NULL)),
    CHECK ((kind = 'system') = (system_code IS NOT NULL)),
    CONSTRAINT wallets_user_balance_check
        CHECK (kind = 'system' OR debt_since IS NOT NULL OR (balance >= 0 AND reserved <= balance))
);
COMMENT ON TABLE lp.wallets IS 'Token balances. One wallet per user, plus system wallets (issuance, platform fees, payout clearing, ...) so every movement is double-entry. Written only by api functions, through the ledger.';
COMMENT ON COLUMN lp.wallets.kind IS 'user: belongs to user_id; system: a platform account named by system_code.';
COMMENT ON COLUMN lp.wallets.balance IS 'Spendable tokens of the wallet''s main account (bigint minor units; 100 tokens = 1 USD by default); the wallet''s total also counts its credit shards. Equals the last balance_after of the wallet''s shard-0 ledger entries.';
COMMENT ON COLUMN lp.wallets.reserved IS 'Tokens reserved by open holds; available = balance - reserved. Prevents double spending.';
COMMENT ON COLUMN lp.wallets.debt_since IS 'Set when a refund or chargeback clawed back tokens that were already spent and the shortfall policy is debt: the balance may then be negative and the wallet cannot spend until it is positive again.';
COMMENT ON COLUMN lp.wallets.shard_count IS 'Number of credit shards (lp.wallet_shards) of a hot wallet (performers, system wallets); 0 = every movement uses balance. See docs/ledger.md.';
COMMENT ON COLUMN lp.wallets.tokens_per_unit IS 'Conversion rate: tokens per currency unit (100 per USD by default).';

ALTER TABLE lp.wallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallets FORCE ROW LEVEL SECURITY;
CREATE TRIGGER wallets_touch_updated_at BEFORE UPDATE ON lp.wallets
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
