CREATE FUNCTION lp.refuse_debit(p_wallet_id uuid, p_needed bigint) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    -- Called when lp.move_main refused a debit or a reservation: says why, in the catalogue's words.
    IF EXISTS (SELECT 1 FROM lp.wallets AS w WHERE w.id = p_wallet_id AND w.debt_since IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP107', MESSAGE = 'the wallet is in debt and cannot spend',
            HINT = 'Buy tokens to settle the debt first.';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'LP100', MESSAGE = 'insufficient available balance',
        DETAIL = format('%s tokens needed', p_needed);
END
$$;
COMMENT ON FUNCTION lp.refuse_debit(uuid, bigint) IS 'Owner-only: raises LP107 (the wallet is in debt) or LP100 (insufficient available balance, p_needed tokens) for a debit or reservation that lp.move_main refused.';
REVOKE ALL ON FUNCTION lp.refuse_debit(uuid, bigint) FROM PUBLIC;
