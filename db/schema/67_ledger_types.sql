SET ROLE livepanty_owner;

CREATE TYPE lp.posting AS (
    wallet_id        uuid,
    amount           bigint,
    entry_kind       text,
    release_reserved bigint,
    allow_debt       boolean
);
COMMENT ON TYPE lp.posting IS 'One leg of a ledger transaction for lp.post: signed amount on a wallet, optionally releasing reserved tokens at the same time (hold captures), optionally allowed to push the wallet into debt (refund and chargeback clawbacks).';

RESET ROLE;
