CREATE FUNCTION lp.check_review_setting(p_key text, p_value jsonb) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_item  record;
    v_rule  jsonb;
    v_num   numeric;
    v_bad   text;
BEGIN
    -- The settings of the review queue (issue 9, section 2), checked where api.set_setting writes them:
    -- numbers in range, and the objects keyed by a case reason or flag category with values of the right
    -- shape. Any other key: nothing to check here. LP092 names what is wrong.
    IF jsonb_typeof(p_value) = 'number' THEN
        v_num := p_value::text::numeric;
        IF (p_key = 'review.claim_minutes' AND v_num NOT BETWEEN 1 AND 1440)
           OR (p_key = 'review.max_claim_minutes' AND v_num NOT BETWEEN 1 AND 10080)
           OR (p_key = 'review.max_reports_per_hour' AND (v_num NOT BETWEEN 1 AND 10000 OR v_num <> trunc(v_num)))
           OR (p_key = 'review.escalate_hours' AND v_num NOT BETWEEN 0 AND 720)
           OR (p_key = 'reports.reputation_days' AND v_num NOT BETWEEN 1 AND 3650)
           OR (p_key = 'reports.reputation_min_dismissed' AND v_num NOT BETWEEN 1 AND 100000)
           OR (p_key = 'reports.reputation_dismissed_percent' AND v_num NOT BETWEEN 1 AND 100)
           OR (p_key = 'flags.suspension_days' AND v_num NOT BETWEEN 1 AND 365) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s is out of range', p_key);
        END IF;
    ELSIF p_key = 'review.severity' THEN
        FOR v_item IN SELECT e.key, e.value FROM jsonb_each(p_value) AS e LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_enum AS x
                            WHERE x.enumtypid = 'lp.case_reason'::regtype AND x.enumlabel = v_item.key)
               OR jsonb_typeof(v_item.value) <> 'number'
               OR (v_item.value)::text::numeric NOT BETWEEN 0 AND 100
               OR (v_item.value)::text::numeric <> trunc((v_item.value)::text::numeric) THEN
                v_bad := v_item.key;
                EXIT;
            END IF;
        END LOOP;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('review.severity: %s', left(v_bad, 100)),
                HINT = 'An object of case reasons (lp.case_reason), each an integer 0..100.';
        END IF;
    ELSIF p_key = 'review.critical_reasons' THEN
        SELECT e.value INTO v_bad FROM jsonb_array_elements_text(p_value) AS e (value)
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_enum AS x
                            WHERE x.enumtypid = 'lp.case_reason'::regtype AND x.enumlabel = e.value)
         LIMIT 1;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('review.critical_reasons: %s', left(v_bad, 100)),
                HINT = 'An array of case reasons (lp.case_reason).';
        END IF;
    ELSIF p_key = 'review.sla_business_days' THEN
        IF NOT p_value ? 'default' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = 'review.sla_business_days needs a "default"';
        END IF;
        FOR v_item IN SELECT e.key, e.value FROM jsonb_each(p_value) AS e LOOP
            IF (v_item.key <> 'default' AND NOT EXISTS (
                    SELECT 1 FROM pg_catalog.pg_enum AS x
                     WHERE x.enumtypid = 'lp.case_reason'::regtype AND x.enumlabel = v_item.key))
               OR jsonb_typeof(v_item.value) <> 'number'
               OR (v_item.value)::text::numeric NOT BETWEEN 1 AND 60
               OR (v_item.value)::text::numeric <> trunc((v_item.value)::text::numeric) THEN
                RAISE EXCEPTION USING ERRCODE = 'LP092',
                    MESSAGE = format('review.sla_business_days: %s', left(v_item.key, 100)),
                    HINT = 'An object of case reasons (and "default"), each a whole number of business days 1..60.';
            END IF;
        END LOOP;
    ELSIF p_key = 'flags.thresholds' THEN
        FOR v_item IN SELECT e.key, e.value FROM jsonb_each(p_value) AS e LOOP
            v_rule := v_item.value;
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_enum AS x
                            WHERE x.enumtypid = 'lp.flag_category'::regtype AND x.enumlabel = v_item.key)
               OR jsonb_typeof(v_rule) <> 'object'
               OR jsonb_typeof(v_rule -> 'review') IS DISTINCT FROM 'number'
               OR (v_rule ->> 'review')::numeric NOT BETWEEN 0 AND 1
               OR coalesce(jsonb_typeof(v_rule -> 'act'), 'null') NOT IN ('null', 'number')
               OR (jsonb_typeof(v_rule -> 'act') = 'number'
                   AND (v_rule ->> 'act')::numeric NOT BETWEEN (v_rule ->> 'review')::numeric AND 1)
               OR coalesce(jsonb_typeof(v_rule -> 'suspend'), 'boolean') <> 'boolean' THEN
                RAISE EXCEPTION USING ERRCODE = 'LP092',
                    MESSAGE = format('flags.thresholds: %s', left(v_item.key, 100)),
                    HINT = 'An object of flag categories, each {"review": 0..1, "act": null or review..1, "suspend": true/false}.';
            END IF;
        END LOOP;
    END IF;
END
$$;
COMMENT ON FUNCTION lp.check_review_setting(text, jsonb) IS 'Owner only (api.set_setting): LP092 when a setting of the review queue is out of range (review.claim_minutes 1..1440, review.max_claim_minutes 1..10080, review.max_reports_per_hour 1..10000, review.escalate_hours 0..720, reports.reputation_days 1..3650, reports.reputation_min_dismissed 1..100000, reports.reputation_dismissed_percent 1..100, flags.suspension_days 1..365) or badly shaped (review.severity, review.critical_reasons, review.sla_business_days, flags.thresholds). Other keys pass.';
REVOKE ALL ON FUNCTION lp.check_review_setting(text, jsonb) FROM PUBLIC;
