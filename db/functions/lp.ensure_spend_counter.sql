CREATE FUNCTION lp.ensure_spend_counter(p_user_id uuid) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- A user's first spend: the counter row, with the account's age and its first completed payment.
    INSERT INTO lp.spend_counters (user_id, account_created_at, first_payment_at)
    SELECT u.id, u.created_at,
           (SELECT min(p.completed_at) FROM lp.payments AS p WHERE p.user_id = u.id AND p.status = 'completed')
      FROM lp.users AS u
     WHERE u.id = p_user_id
    ON CONFLICT (user_id) DO NOTHING;
$$;
COMMENT ON FUNCTION lp.ensure_spend_counter(uuid) IS 'Owner only: makes the user''s lp.spend_counters row when it does not exist yet (account creation time; first completed payment, if any).';
REVOKE ALL ON FUNCTION lp.ensure_spend_counter(uuid) FROM PUBLIC;
