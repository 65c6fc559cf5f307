CREATE FUNCTION lp.retained_records(p_user_id uuid, p_at timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_financial timestamptz := p_at + make_interval(years => (lp.setting('privacy.financial_retention_years'))::integer);
    v_kyc       timestamptz := p_at + make_interval(years => (lp.setting('privacy.kyc_retention_years'))::integer);
    v_kept      jsonb := '[]'::jsonb;
BEGIN
    -- What an erasure keeps, and until when: what the user is told their erasure did not remove, and why.
    IF EXISTS (SELECT 1 FROM lp.wallets AS w JOIN lp.ledger AS l ON l.wallet_id = w.id WHERE w.user_id = p_user_id)
       OR EXISTS (SELECT 1 FROM lp.payments AS p WHERE p.user_id = p_user_id)
       OR EXISTS (SELECT 1 FROM lp.payouts AS p WHERE p.user_id = p_user_id)
       OR EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.sender_id = p_user_id OR t.recipient_id = p_user_id) THEN
        -- The tokens left in the wallet stay in it (the account is closed): the user is told how many.
        v_kept := v_kept || jsonb_build_array(jsonb_build_object(
            'category', 'financial_records', 'until', v_financial,
            'what', 'wallet and ledger entries, tips, payments, payouts and adjustments (amounts and dates, without any message)',
            'why', 'anti-money-laundering record keeping (privacy.financial_retention_years)',
            'wallet_tokens', (SELECT coalesce(sum(w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s
                                                                         WHERE s.wallet_id = w.id), 0)), 0)
                                FROM lp.wallets AS w WHERE w.user_id = p_user_id)));
    END IF;
    IF EXISTS (SELECT 1 FROM lp.kyc_verifications AS k WHERE k.user_id = p_user_id) THEN
        v_kept := v_kept || jsonb_build_array(jsonb_build_object(
            'category', 'identity_verification', 'until', v_kyc,
            'what', 'identity verification records (document type and country, references, verified date of birth, legal name)',
            'why', 'age and identity record keeping of performers (privacy.kyc_retention_years); destroyed then by the kyc_records purge'));
    END IF;
    IF EXISTS (SELECT 1 FROM lp.stream_consents AS c WHERE c.performer_id = p_user_id) THEN
        v_kept := v_kept || jsonb_build_array(jsonb_build_object(
            'category', 'consent_records', 'until', v_kyc,
            'what', 'consent to appear in each stream (time, network of the address; the address itself and the device are erased)',
            'why', 'consent record keeping of everyone on camera (privacy.kyc_retention_years)'));
    END IF;
    RETURN v_kept;
END
$$;
COMMENT ON FUNCTION lp.retained_records(uuid, timestamptz) IS 'Owner only: the categories of records an erasure at p_at keeps for their legal retention, as a JSON array of {category, until, what, why} (financial_records, with wallet_tokens: the tokens left in the closed account''s wallet; identity_verification, consent_records; only those the user has).';
REVOKE ALL ON FUNCTION lp.retained_records(uuid, timestamptz) FROM PUBLIC;
