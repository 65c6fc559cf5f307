CREATE FUNCTION api.get_fraud_limits(p_user_id uuid DEFAULT NULL)
RETURNS TABLE (
    kind              text,
    new_account       boolean,
    verified_payment  boolean,
    new_account_until timestamptz,
    max_tokens        bigint,
    daily_tokens      bigint,
    tokens_today      bigint,
    per_hour          integer,
    this_hour         integer
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_actor uuid := lp.require_user();
    v_user  uuid := coalesce(p_user_id, v_actor);
    v_hour  timestamptz := date_trunc('hour', now(), 'UTC');
    v_day   timestamptz := date_trunc('day', now(), 'UTC');
    v_cfg   jsonb;
    f       record;
BEGIN
    IF v_user <> v_actor THEN
        PERFORM lp.require_user('moderator', 'admin');  -- LP002: another user's limits are staff business
    END IF;
    SELECT jsonb_object_agg(s.key, s.value) INTO v_cfg FROM lp.settings AS s WHERE s.key LIKE 'fraud.%';
    -- The counter row when the user has spent; else what lp.ensure_spend_counter would make of the user.
    SELECT u.id, coalesce(c.account_created_at, u.created_at) AS created_at,
           CASE WHEN c.user_id IS NOT NULL THEN c.first_payment_at
                ELSE (SELECT min(p.completed_at) FROM lp.payments AS p WHERE p.user_id = u.id AND p.status = 'completed')
           END AS paid_at,
           CASE WHEN c.tip_hour >= v_hour THEN c.tips_in_hour ELSE 0 END AS tips_hour,
           CASE WHEN c.tip_day >= v_day THEN c.tip_tokens_day ELSE 0 END AS tips_day,
           CASE WHEN c.purchase_hour >= v_hour THEN c.purchases_in_hour ELSE 0 END AS purchases_hour,
           CASE WHEN c.purchase_day >= v_day THEN c.purchase_tokens_day ELSE 0 END AS purchases_day
      INTO f
      FROM lp.users AS u
      LEFT JOIN lp.spend_counters AS c ON c.user_id = u.id
     WHERE u.id = v_user AND u.deleted_at IS NULL;
    IF f.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    RETURN QUERY
        SELECT k.kind, k.is_new, f.paid_at IS NOT NULL,
               f.created_at + make_interval(days => (v_cfg ->> 'fraud.new_account_days')::integer),
               CASE WHEN k.is_new THEN nullif(k.max_tokens, 0) END,
               CASE WHEN k.is_new THEN nullif(k.daily, 0) END,
               k.today, nullif(k.rate, 0)::integer, k.hour_count
          FROM (SELECT x.*, f.paid_at IS NULL
                            OR f.created_at > now() - make_interval(days => (v_cfg ->> 'fraud.new_account_days')::integer)
                            AS is_new
                  FROM (VALUES ('tip', (v_cfg ->> 'fraud.new_account_max_tip')::bigint,
                                (v_cfg ->> 'fraud.new_account_daily_tip_tokens')::bigint, f.tips_day::bigint,
                                (v_cfg ->> 'fraud.tips_per_hour')::integer, f.tips_hour::integer),
                               ('purchase', (v_cfg ->> 'fraud.new_account_max_purchase')::bigint,
                                (v_cfg ->> 'fraud.new_account_daily_purchase_tokens')::bigint, f.purchases_day::bigint,
                                (v_cfg ->> 'fraud.purchases_per_hour')::integer, f.purchases_hour::integer))
                       AS x (kind, max_tokens, daily, today, rate, hour_count)) AS k
         ORDER BY k.kind DESC;
END
$$;
COMMENT ON FUNCTION api.get_fraud_limits(uuid) IS 'The fraud controls on a user''s money as they stand now (the acting user''s; another user''s for moderators and admins, else LP002; LP003 unknown user): one row per kind (tip, purchase): whether the account is new (younger than fraud.new_account_days, or no completed payment), whether it has a verified (completed) payment, when the age test ends, the new-account caps in force (NULL: none), tokens tipped or bought this UTC day, the velocity threshold (NULL: off) and the count this UTC clock hour. Holds count as tips (lp.count_spend).';
REVOKE ALL ON FUNCTION api.get_fraud_limits(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_fraud_limits(uuid) TO livepanty_app, livepanty_service;
