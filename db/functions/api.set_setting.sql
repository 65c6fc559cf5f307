CREATE FUNCTION api.set_setting(p_key text, p_value jsonb) RETURNS lp.settings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('admin');
    v_setting lp.settings;
    v_number  numeric;
    v_other   numeric;
    v_old     jsonb;
BEGIN
    IF p_key IN ('tips.min_tokens', 'tips.max_tokens') THEN
        -- The two bounds are checked against each other: lock both rows, always in the same (key) order.
        PERFORM 1 FROM lp.settings AS s WHERE s.key IN ('tips.max_tokens', 'tips.min_tokens') ORDER BY s.key FOR UPDATE;
    ELSIF p_key IN ('shows.min_rate', 'shows.max_rate') THEN
        PERFORM 1 FROM lp.settings AS s WHERE s.key IN ('shows.max_rate', 'shows.min_rate') ORDER BY s.key FOR UPDATE;
    END IF;
    SELECT s.* INTO v_setting FROM lp.settings AS s WHERE s.key = p_key FOR UPDATE;
    IF v_setting.key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP091', MESSAGE = format('unknown setting %L', left(p_key, 100));
    END IF;
    IF p_value IS NULL OR jsonb_typeof(p_value) <> jsonb_typeof(v_setting.value) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s takes a %s value', p_key, jsonb_typeof(v_setting.value));
    END IF;
    IF jsonb_typeof(p_value) = 'number' THEN
        v_number := p_value::text::numeric;
        IF v_number <> trunc(v_number) OR v_number < 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s takes a non-negative integer', p_key);
        END IF;
        -- bcrypt below 10 is too cheap to guess against; the floor is enforced here, where settings are written
        -- (lp.hash_password does not clamp: the test template sets 4 directly, as the superuser).
        IF (p_key = 'auth.bcrypt_cost' AND v_number NOT BETWEEN 10 AND 15)
           OR (p_key = 'auth.password_min_length' AND v_number NOT BETWEEN 8 AND 72)
           OR (p_key = 'auth.max_failed_logins' AND v_number NOT BETWEEN 1 AND 100)
           OR (p_key = 'auth.minimum_age_years' AND v_number NOT BETWEEN 18 AND 99)
           OR (p_key IN ('auth.lockout_minutes', 'auth.session_ttl_hours', 'auth.reset_token_ttl_minutes')
               AND v_number NOT BETWEEN 1 AND 100000)
           OR (p_key IN ('auth.reset_request_interval_seconds', 'outbox.retry_seconds') AND v_number NOT BETWEEN 0 AND 86400)
           OR (p_key = 'outbox.max_attempts' AND v_number NOT BETWEEN 1 AND 100)
           OR (p_key = 'tips.fee_bps' AND v_number NOT BETWEEN 0 AND 10000)
           -- Token amounts stay below 10^12 so that amount * fee_bps never leaves bigint.
           OR (p_key IN ('tips.min_tokens', 'tips.max_tokens', 'payouts.min_tokens')
               AND v_number NOT BETWEEN 1 AND 1000000000000)
           -- The bound on every amount (lp.check_tokens): at most 10^12, like the tips bounds above.
           OR (p_key = 'money.max_tokens' AND v_number NOT BETWEEN 1 AND 1000000000000)
           OR (p_key = 'money.max_price_minor' AND v_number NOT BETWEEN 1 AND 1000000000000000)
           OR (p_key = 'payouts.hold_days' AND v_number NOT BETWEEN 0 AND 365)
           OR (p_key = 'ledger.max_transaction_seconds' AND v_number NOT BETWEEN 1 AND 86400)
           OR (p_key = 'holds.max_minutes' AND v_number NOT BETWEEN 1 AND 43200)
           OR (p_key = 'limits.raise_cooldown_hours' AND v_number NOT BETWEEN 0 AND 720)
           OR (p_key = 'wallets.performer_shards' AND v_number NOT BETWEEN 1 AND 64)
           OR (p_key = 'streams.viewer_timeout_seconds' AND v_number NOT BETWEEN 10 AND 3600)
           OR (p_key = 'streams.counter_shards' AND v_number NOT BETWEEN 1 AND 64)
           OR (p_key = 'goals.max_per_stream' AND v_number NOT BETWEEN 1 AND 1000)
           OR (p_key = 'menus.max_items' AND v_number NOT BETWEEN 1 AND 1000)
           OR (p_key IN ('shows.min_rate', 'shows.max_rate') AND v_number NOT BETWEEN 1 AND 1000000)
           OR (p_key = 'shows.answer_seconds' AND v_number NOT BETWEEN 10 AND 3600)
           OR (p_key = 'shows.prepay_minutes' AND v_number NOT BETWEEN 1 AND 60)
           -- Privacy (issue 9, section 5): legal retention in years, purges in days, the fresh-login window.
           OR (p_key IN ('privacy.financial_retention_years', 'privacy.kyc_retention_years') AND v_number NOT BETWEEN 1 AND 30)
           OR (p_key IN ('privacy.session_retention_days', 'privacy.reset_token_retention_days', 'privacy.viewer_retention_days',
                         'privacy.ip_retention_days', 'privacy.dismissed_report_retention_days',
                         'privacy.email_retention_days') AND v_number NOT BETWEEN 1 AND 3650)
           OR (p_key = 'privacy.erasure_login_minutes' AND v_number NOT BETWEEN 1 AND 1440)
           -- KYC gate (issue 9, section 1): 0 = an approval counts until its document expires.
           OR (p_key = 'kyc.approval_valid_days' AND v_number NOT BETWEEN 0 AND 3650)
           -- KYC lifecycle (issue 9, section 1): score thresholds in percent; at least one attempt.
           OR (p_key IN ('kyc.auto_approve_score', 'kyc.auto_decline_score') AND v_number NOT BETWEEN 0 AND 100)
           OR (p_key = 'kyc.max_declines' AND v_number NOT BETWEEN 1 AND 100)
           -- Fraud controls (issue 9, section 4): 0 switches a cap or rule off.
           OR (p_key IN ('fraud.new_account_days', 'fraud.chargeback_window_hours') AND v_number NOT BETWEEN 0 AND 3650)
           OR (p_key IN ('fraud.new_account_max_tip', 'fraud.new_account_daily_tip_tokens', 'fraud.new_account_max_purchase',
                         'fraud.new_account_daily_purchase_tokens') AND v_number NOT BETWEEN 0 AND 1000000000000)
           OR (p_key IN ('fraud.tips_per_hour', 'fraud.purchases_per_hour') AND v_number NOT BETWEEN 0 AND 1000000)
           OR (p_key = 'fraud.chargeback_share_bps' AND v_number NOT BETWEEN 1 AND 10000)
           OR (p_key = 'events.retention_days' AND v_number NOT BETWEEN 1 AND 3650) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s is out of range', p_key);
        END IF;
        IF p_key IN ('tips.min_tokens', 'tips.max_tokens') THEN
            SELECT (s.value)::text::numeric INTO v_other FROM lp.settings AS s
             WHERE s.key = CASE p_key WHEN 'tips.min_tokens' THEN 'tips.max_tokens' ELSE 'tips.min_tokens' END;
            IF (p_key = 'tips.min_tokens' AND v_number > v_other) OR (p_key = 'tips.max_tokens' AND v_number < v_other) THEN
                RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'tips.max_tokens may not be below tips.min_tokens',
                    DETAIL = format('%s = %s, the other bound is %s', p_key, v_number, v_other);
            END IF;
        END IF;
        IF p_key IN ('shows.min_rate', 'shows.max_rate') THEN
            SELECT (s.value)::text::numeric INTO v_other FROM lp.settings AS s
             WHERE s.key = CASE p_key WHEN 'shows.min_rate' THEN 'shows.max_rate' ELSE 'shows.min_rate' END;
            IF (p_key = 'shows.min_rate' AND v_number > v_other) OR (p_key = 'shows.max_rate' AND v_number < v_other) THEN
                RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'shows.max_rate may not be below shows.min_rate',
                    DETAIL = format('%s = %s, the other bound is %s', p_key, v_number, v_other);
            END IF;
        END IF;
    END IF;
    PERFORM lp.check_review_setting(p_key, p_value);  -- the review queue's settings (issue 9, section 2)
    IF p_key = 'events.wake_up' AND p_value #>> '{}' NOT IN ('commit', 'notifier') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'events.wake_up is "commit" or "notifier"';
    END IF;
    IF p_key = 'refunds.shortfall_policy' AND p_value #>> '{}' NOT IN ('debt', 'write_off') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'refunds.shortfall_policy is "debt" or "write_off"';
    END IF;
    v_old := v_setting.value;
    UPDATE lp.settings AS s SET value = p_value, updated_by = v_actor WHERE s.key = p_key
    RETURNING * INTO v_setting;
    PERFORM lp.audit('setting.change', 'setting', p_key,
                     jsonb_build_object('from', v_old, 'to', p_value));
    RETURN v_setting;
END
$$;
COMMENT ON FUNCTION api.set_setting(text, jsonb) IS 'Admins: changes a runtime setting (audited with old and new value). LP091 unknown key, LP092 wrong type or out of range (auth.bcrypt_cost 10..15; money.max_tokens 1..10^12, money.max_price_minor 1..10^15; token economy: tips.fee_bps 0..10000, tips.min_tokens 1..tips.max_tokens, payouts.min_tokens >= 1, payouts.hold_days 0..365, ledger.max_transaction_seconds 1..86400, holds.max_minutes 1..43200, limits.raise_cooldown_hours 0..720, wallets.performer_shards 1..64, streams.viewer_timeout_seconds 10..3600, streams.counter_shards 1..64, goals.max_per_stream 1..1000, menus.max_items 1..1000, shows.min_rate and shows.max_rate 1..10^6 with min <= max, shows.answer_seconds 10..3600, shows.prepay_minutes 1..60, refunds.shortfall_policy "debt" or "write_off", events.wake_up "commit" or "notifier"; fraud controls: fraud.new_account_days and fraud.chargeback_window_hours 0..3650, the fraud.new_account_* caps 0..10^12, fraud.tips_per_hour and fraud.purchases_per_hour 0..10^6 (0: off), fraud.chargeback_share_bps 1..10000; the review queue''s settings through lp.check_review_setting).';
REVOKE ALL ON FUNCTION api.set_setting(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_setting(text, jsonb) TO livepanty_app, livepanty_service;
