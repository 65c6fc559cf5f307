CREATE FUNCTION api.raise_flag(
    p_detector     text,
    p_category     text,
    p_confidence   numeric,
    p_content_type text,
    p_content_ref  text DEFAULT NULL,
    p_stream_id    uuid DEFAULT NULL,
    p_user_id      uuid DEFAULT NULL,
    p_details      jsonb DEFAULT '{}'
) RETURNS lp.moderation_flags
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_detector  text := lp.check_text(p_detector, 'detector', 100, true);
    v_ref       text := lp.check_text(p_content_ref, 'content_ref', 2048, false);
    v_rule      jsonb;
    v_review    numeric;
    v_act       numeric;
    v_user      uuid := p_user_id;
    v_stream    lp.streams;
    v_reason    text;
    v_case      lp.reports;
    v_flag      lp.moderation_flags;
    v_sanction  lp.user_sanctions;
    v_in_force  lp.user_sanctions;
    v_ended     boolean := false;
    v_disp      text;
BEGIN
    PERFORM lp.check_choice(p_category, 'lp.flag_category', 'flag category');
    PERFORM lp.check_choice(p_content_type, 'lp.flag_content_type', 'content type');
    IF p_confidence IS NULL OR p_confidence < 0 OR p_confidence > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_confidence must be between 0 and 1';
    END IF;
    IF p_details IS NULL OR jsonb_typeof(p_details) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_details must be a JSON object';
    END IF;
    IF p_stream_id IS NULL AND p_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a flag needs a stream or a user';
    END IF;
    IF p_stream_id IS NOT NULL THEN
        SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id AND s.deleted_at IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
        END IF;
        v_user := coalesce(v_user, v_stream.host_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_user AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;

    -- Thresholds of the category (flags.thresholds): below review the flag is only recorded (ignored);
    -- from review it is queued in the case of its target and reason; from act it is also acted upon at once.
    v_rule := lp.setting('flags.thresholds') -> p_category;
    v_review := coalesce((v_rule ->> 'review')::numeric, 0);
    v_act := (v_rule ->> 'act')::numeric;
    -- Acting at once needs something to act upon: a stream to end, or a category that suspends.
    v_disp := CASE WHEN p_confidence < v_review THEN 'ignored'
                   WHEN v_act IS NOT NULL AND p_confidence >= v_act
                        AND (p_stream_id IS NOT NULL OR coalesce((v_rule ->> 'suspend')::boolean, false)) THEN 'acted'
                   ELSE 'queued' END;
    v_reason := CASE
        WHEN p_category = 'minor_detected' THEN 'underage'
        WHEN p_category IN ('violence', 'weapons') THEN 'violence'
        WHEN p_category = 'hate_symbols' THEN 'hate_speech'
        WHEN p_category = 'drugs' THEN 'illegal_content'
        WHEN p_category = 'spam' THEN 'spam'
        WHEN p_category = 'other' THEN 'other'
        ELSE 'content_policy' END;

    IF v_disp <> 'ignored' THEN
        v_case := lp.file_case('flag', v_reason, CASE WHEN p_stream_id IS NULL THEN 'user' ELSE 'stream' END,
                               v_user, p_stream_id, NULL,
                               jsonb_build_object('detector', v_detector, 'category', p_category,
                                                  'confidence', p_confidence, 'content_type', p_content_type));
    END IF;
    INSERT INTO lp.moderation_flags (stream_id, user_id, content_type, content_ref, detector, category, confidence,
                                     status, priority, details, reviewed_at, review_notes, case_id, disposition)
    VALUES (p_stream_id, v_user, p_content_type::lp.flag_content_type, v_ref, v_detector,
            p_category::lp.flag_category, p_confidence,
            CASE v_disp WHEN 'ignored' THEN 'dismissed' WHEN 'acted' THEN 'escalated' ELSE 'pending' END,
            coalesce(v_case.priority, 'low'), p_details,
            CASE WHEN v_disp = 'ignored' THEN now() END,
            CASE WHEN v_disp = 'ignored' THEN format('ignored: confidence below the review threshold %s', v_review) END,
            v_case.id, v_disp::lp.flag_disposition)
    RETURNING * INTO v_flag;

    IF v_disp <> 'ignored' THEN
        UPDATE lp.reports AS r
           SET flag_count = r.flag_count + 1, confidence = greatest(r.confidence, p_confidence)
         WHERE r.id = v_case.id;
        v_case := lp.rescore_case(v_case.id);
    END IF;
    IF v_disp = 'acted' THEN
        -- At once: the stream ends; when the category says so the user is suspended pending review (that
        -- also ends every stream they are on camera in and revokes their sessions). The case stays queued
        -- for a human; its statement of reasons says the decision was automated.
        IF p_stream_id IS NOT NULL THEN
            SELECT s.* INTO v_stream FROM lp.streams AS s
             WHERE s.id = p_stream_id AND s.status IN ('scheduled', 'live') FOR NO KEY UPDATE;
            IF FOUND THEN
                -- Publicly only that the gate ended it (a detection about a performer is nobody else's
                -- business); the category, the flag and whom it names go into the stream.end audit row.
                PERFORM lp.close_stream(v_stream, 'go-live gate', 'gate',
                                        jsonb_build_object('gaps', jsonb_build_array(jsonb_build_object(
                                                               'user_id', v_user,
                                                               'lacks', format('automated moderation: %s', p_category))),
                                                           'flag_id', v_flag.id));
                v_ended := true;
            END IF;
        END IF;
        IF coalesce((v_rule ->> 'suspend')::boolean, false) AND NOT EXISTS (
               SELECT 1 FROM lp.user_sanctions AS s
                WHERE s.id = v_case.sanction_id AND s.revoked_at IS NULL AND s.ends_at > statement_timestamp()) THEN
            v_sanction := lp.issue_sanction(
                v_user, 'suspension',
                format('automated: %s detected by %s (confidence %s), suspended pending review', p_category,
                       v_detector, p_confidence),
                now() + make_interval(days => (lp.setting('flags.suspension_days'))::integer), v_case.id, NULL);
        END IF;
        -- The automated statement of reasons says what is in force. A flag that did nothing new (the stream
        -- already ended, the user already suspended by an earlier flag of the case) keeps the case's decision;
        -- one that did something new states it, with the case's suspension still in force when it issued none.
        IF v_sanction.id IS NOT NULL OR v_ended OR v_case.decision IS NULL THEN
            v_in_force := v_sanction;
            IF v_in_force.id IS NULL THEN
                SELECT s.* INTO v_in_force FROM lp.user_sanctions AS s
                 WHERE s.id = v_case.sanction_id AND s.revoked_at IS NULL AND (s.ends_at IS NULL OR s.ends_at > statement_timestamp());
            END IF;
            UPDATE lp.reports AS r
               SET sanction_id = coalesce(v_sanction.id, r.sanction_id),
                   decision = jsonb_build_object(
                       'facts', format('Detector %s found %s (confidence %s) in %s content.', v_detector, p_category,
                                       p_confidence, p_content_type),
                       'rule', format('Content policy: %s', v_reason),
                       'automated', true,
                       'action', CASE WHEN v_in_force.id IS NOT NULL THEN 'sanction'
                                      WHEN v_ended THEN 'end_stream' ELSE 'none' END,
                       'sanction_type', v_in_force.sanction_type, 'sanction_ends_at', v_in_force.ends_at,
                       'appeal', 'A moderator reviews this automated decision; if upheld you may appeal the sanction (api.appeal_sanction).',
                       'decided_at', now())
             WHERE r.id = v_case.id
            RETURNING r.* INTO v_case;
        END IF;
    END IF;
    PERFORM lp.audit('flag.raise', 'moderation_flag', v_flag.id::text,
                     jsonb_build_object('detector', v_detector, 'category', p_category, 'confidence', p_confidence,
                                        'disposition', v_disp, 'case_id', v_case.id, 'stream_ended', v_ended,
                                        'sanction_id', v_sanction.id),
                     p_actor_id => NULL);
    RETURN v_flag;
END
$$;
COMMENT ON FUNCTION api.raise_flag(text, text, numeric, text, text, uuid, uuid, jsonb) IS 'Detectors (service only): records an automated detection (detector, category of lp.flag_category, confidence 0..1, content type and reference, stream and/or user; the stream''s host when no user). By the category''s thresholds (flags.thresholds): below review it is ignored (recorded, dismissed); from review it is queued in the review case of its target (merged); from act it is also acted upon at once: the stream ends (publicly ''go-live gate''; the category and the flag only in its stream.end audit row) and, where the category says suspend (minor_detected), the user is suspended for flags.suspension_days pending review (lp.issue_sanction, automated), with an automated statement of reasons on the case (kept as it is when a later acted flag of the case does nothing new; it always names the suspension in force). Returns the flag. LP003 unknown stream or user, LP018 bad category, content type, confidence, details or target. Audited (flag.raise).';
REVOKE ALL ON FUNCTION api.raise_flag(text, text, numeric, text, text, uuid, uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.raise_flag(text, text, numeric, text, text, uuid, uuid, jsonb) TO livepanty_service;
