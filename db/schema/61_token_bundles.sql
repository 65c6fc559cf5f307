SET ROLE livepanty_owner;

CREATE TABLE lp.token_bundles (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,40}$'),
    tokens      bigint NOT NULL CHECK (tokens > 0),
    price_minor bigint NOT NULL CHECK (price_minor > 0),
    currency    text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.token_bundles IS 'Token bundles on sale and their prices (runtime configuration, changed by admins through api.set_bundle, audited). A payment copies tokens and price at creation.';
COMMENT ON COLUMN lp.token_bundles.price_minor IS 'Price in minor units of currency (cents for USD).';

INSERT INTO lp.token_bundles (code, tokens, price_minor) VALUES
    ('small', 500, 499),
    ('medium', 1100, 999),
    ('large', 6000, 4999);

CREATE TRIGGER token_bundles_touch_updated_at BEFORE UPDATE ON lp.token_bundles
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
-- Seed rows first: once row level security is forced, only policies let rows in.
ALTER TABLE lp.token_bundles ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.token_bundles FORCE ROW LEVEL SECURITY;

RESET ROLE;
