CREATE FUNCTION api.apply_kyc_webhook(
    p_provider               text,
    p_event_id               text,
    p_provider_reference     text,
    p_status                 text,
    p_score                  numeric DEFAULT NULL,
    p_reasons                text[] DEFAULT NULL,
    p_document_expires_on    date DEFAULT NULL,
    p_verified_date_of_birth date DEFAULT NULL,
    p_occurred_at            timestamptz DEFAULT NULL
) RETURNS lp.kyc_webhook_events
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_provider  text := lp.check_text(p_provider, 'provider', 32, true);
    v_event_id  text := lp.check_text(p_event_id, 'event_id', 200, true);
    v_reference text := lp.check_text(p_provider_reference, 'provider_reference', 255, true);
    v_status    text := lp.check_text(p_status, 'status', 30, true);
    v_min_age   integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_event     lp.kyc_webhook_events;
    v_row       lp.kyc_verifications;
    v_target    lp.kyc_status;
    v_decider   text;
    v_note      text;
    v_dob       date;
    v_underage  boolean := false;
    v_underage_found boolean := false;
    v_expires   timestamptz;
    v_lapsed    text;
    v_case      uuid;
    v_revoked   integer := 0;
BEGIN
    PERFORM lp.check_choice(v_status, 'lp.kyc_status', 'status');
    IF v_provider !~ '^[a-z][a-z0-9_]{1,31}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'provider must be 2..32 lower-case letters, digits or underscores, starting with a letter';
    END IF;
    IF p_score IS NOT NULL AND (p_score < 0 OR p_score > 1) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'score must be between 0 and 1';
    END IF;
    IF cardinality(p_reasons) > 20
       OR EXISTS (SELECT 1 FROM unnest(p_reasons) AS r(reason)
                   WHERE r.reason IS NULL OR char_length(r.reason) NOT BETWEEN 1 AND 200) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'reasons: at most 20, each 1..200 characters';
    END IF;
    -- Plausible as for registration (lp.create_user): 1900-01-01, the erasure's marker, is refused too.
    IF p_verified_date_of_birth IS NOT NULL
       AND (p_verified_date_of_birth > current_date OR p_verified_date_of_birth <= DATE '1900-01-01') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP014', MESSAGE = 'verified date of birth is not plausible';
    END IF;
    IF p_occurred_at IS NOT NULL AND p_occurred_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'occurred_at is in the future';
    END IF;

    -- A repeat of an event already applied answers what its first delivery did, whatever became of the reference
    -- since (an erased user's records destroyed at the end of their retention no longer hold it): the log is
    -- append-only, so a row found here is final. A first delivery is looked up again below, under the lock.
    SELECT e.* INTO v_event FROM lp.kyc_webhook_events AS e WHERE e.provider = v_provider AND e.event_id = v_event_id;
    IF FOUND THEN
        RETURN v_event;
    END IF;
    -- The verification the provider means; locked, so that two deliveries of one event (or two events of one
    -- verification) are applied one after the other.
    SELECT k.* INTO v_row FROM lp.kyc_verifications AS k
     WHERE k.provider = v_provider AND k.provider_reference = v_reference
     ORDER BY k.created_at DESC, k.id DESC
     LIMIT 1
       FOR UPDATE;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'no verification has this provider reference',
            DETAIL = format('provider %s', v_provider);
    END IF;
    -- Idempotent by (provider, event id): a repeat returns what the first delivery did and changes nothing.
    SELECT e.* INTO v_event FROM lp.kyc_webhook_events AS e WHERE e.provider = v_provider AND e.event_id = v_event_id;
    IF FOUND THEN
        RETURN v_event;
    END IF;
    -- A reference names one person (api.submit_kyc refuses another user's): held by verifications of two users
    -- (written before that rule, or by hand), the event is not applied to either: nothing guesses whose it is.
    IF EXISTS (SELECT 1 FROM lp.kyc_verifications AS k
                WHERE k.provider = v_provider AND k.provider_reference = v_reference AND k.user_id <> v_row.user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP132', MESSAGE = 'verifications of more than one user hold this provider reference',
            DETAIL = format('provider %s', v_provider),
            HINT = 'Nothing was applied: a compliance officer decides which verification the provider means.';
    END IF;

    -- What the event asks for: the provider's decision, or the platform's by score (kyc.auto_approve_score,
    -- kyc.auto_decline_score, in percent) when a check came back with a score and no decline of its own.
    v_target := v_status::lp.kyc_status;
    IF v_target IN ('approved', 'declined') THEN
        v_decider := 'provider';
    END IF;
    IF p_score IS NOT NULL AND v_target IN ('submitted', 'in_review', 'approved') THEN
        v_decider := 'score';
        v_target := CASE
                        WHEN p_score * 100 >= (lp.setting('kyc.auto_approve_score'))::numeric THEN 'approved'::lp.kyc_status
                        WHEN p_score * 100 < (lp.setting('kyc.auto_decline_score'))::numeric THEN 'declined'::lp.kyc_status
                        ELSE 'in_review'::lp.kyc_status
                    END;
        IF v_target = 'in_review' THEN
            v_decider := NULL;
        END IF;
    END IF;
    -- 18+: an approval of a person the document shows under age is a decline, and the account goes to review.
    v_dob := coalesce(v_row.verified_date_of_birth, p_verified_date_of_birth);
    IF v_target = 'approved' AND v_dob > (current_date - make_interval(years => v_min_age))::date THEN
        v_target := 'declined';
        v_decider := 'age_check';
        v_underage := true;
    END IF;

    -- An approval of a document that has already expired would be over before it began (the gate closes at the
    -- document's expiry): it is not recorded as an approval. The webhook is still acknowledged (a provider retries
    -- any refusal): the verification asks for a resubmission with a valid document, the reason recorded.
    v_expires := CASE WHEN p_document_expires_on IS NOT NULL AND v_row.approved_at IS NULL
                      THEN ((p_document_expires_on + 1)::timestamp AT TIME ZONE 'UTC')
                      ELSE v_row.expires_at END;
    IF v_target = 'approved' AND v_expires <= now() THEN
        v_lapsed := format('document expired on %s: resubmission with a valid document needed',
                           ((v_expires AT TIME ZONE 'UTC') - interval '1 day')::date);
        v_target := 'resubmission_requested';
        v_decider := NULL;
    END IF;

    IF p_occurred_at IS NOT NULL AND p_occurred_at < v_row.last_event_at THEN
        v_note := 'out of order: older than the last applied event';
    ELSIF v_lapsed IS NOT NULL AND v_row.status = v_target THEN
        v_note := left(v_lapsed || ' (already requested)', 200);
    ELSIF NOT lp.kyc_status_move(v_row.status, v_target) THEN
        v_note := format('not a forward move from %s to %s', v_row.status, v_target);
        v_underage := false;
    END IF;
    IF v_note IS NOT NULL THEN
        v_target := v_row.status;
    END IF;

    -- The event is recorded before anything is applied. Two deliveries of one event id naming different
    -- references hold different row locks, so neither saw the other's event above: the second waits here for
    -- the first to commit, records nothing and answers the first's stored event, as a repeat in sequence does
    -- (never a unique violation, and nothing applied to its own verification).
    INSERT INTO lp.kyc_webhook_events (provider, event_id, verification_id, requested_status, score, status_before,
                                       status_after, outcome, note, occurred_at)
    VALUES (v_provider, v_event_id, v_row.id, v_status::lp.kyc_status, p_score, v_row.status, v_target,
            CASE WHEN v_note IS NULL THEN 'applied' ELSE 'ignored' END, coalesce(v_note, v_lapsed), p_occurred_at)
    ON CONFLICT (provider, event_id) DO NOTHING
    RETURNING * INTO v_event;
    IF NOT FOUND THEN
        SELECT e.* INTO v_event FROM lp.kyc_webhook_events AS e WHERE e.provider = v_provider AND e.event_id = v_event_id;
        RETURN v_event;
    END IF;

    IF v_note IS NULL THEN
        -- An underage finding (declined, the verified date of birth a minor's) ends every earlier approval that
        -- counts, at once (lp.kyc_underage_finding: the gate closes, live streams end); before this
        -- verification's update (lock order: the verifications, then the user's row).
        IF v_target = 'declined' AND v_dob > (current_date - make_interval(years => v_min_age))::date THEN
            v_revoked := lp.kyc_underage_finding(v_row.user_id, v_row.id, NULL);
            v_underage_found := true;
        END IF;
        UPDATE lp.kyc_verifications AS k
           SET status = v_target,
               verification_score = coalesce(p_score, k.verification_score),
               reasons = coalesce(p_reasons, k.reasons),
               -- The record is written while the verification is not approved yet (then it is frozen).
               verified_date_of_birth = CASE WHEN k.approved_at IS NULL
                                             THEN coalesce(p_verified_date_of_birth, k.verified_date_of_birth)
                                             ELSE k.verified_date_of_birth END,
               expires_at = CASE WHEN p_document_expires_on IS NOT NULL AND k.approved_at IS NULL
                                 THEN ((p_document_expires_on + 1)::timestamp AT TIME ZONE 'UTC')
                                 ELSE k.expires_at END,
               reviewed_at = CASE WHEN v_target IN ('approved', 'declined') THEN now() ELSE k.reviewed_at END,
               reviewed_by = CASE WHEN v_target IN ('approved', 'declined') THEN NULL ELSE k.reviewed_by END,
               decided_by = CASE WHEN v_target IN ('approved', 'declined') THEN v_decider ELSE k.decided_by END,
               rejection_reason = CASE
                                      WHEN v_underage THEN 'underage: the verified date of birth is under the minimum age'
                                      WHEN v_target = 'declined' THEN
                                          left(coalesce(nullif(array_to_string(p_reasons, ', '), ''),
                                                        CASE v_decider WHEN 'score' THEN 'score below kyc.auto_decline_score'
                                                                       ELSE 'declined by the provider' END), 1000)
                                      WHEN v_lapsed IS NOT NULL THEN v_lapsed
                                      WHEN v_target = 'approved' THEN NULL
                                      ELSE k.rejection_reason END,
               last_event_at = coalesce(p_occurred_at, now())
         WHERE k.id = v_row.id;
        IF v_target = 'approved' THEN
            UPDATE lp.users AS u SET age_verified_at = now() WHERE u.id = v_row.user_id;
        END IF;
        -- Any underage finding goes to the moderators as a critical case: the age check's own decline, and a
        -- provider's (or a score's) decline of a person whose verified date of birth is a minor's.
        IF v_underage OR v_underage_found THEN
            v_case := lp.open_case('system', 'underage', v_row.user_id, NULL,
                                   jsonb_build_object('kyc_verification_id', v_row.id, 'provider', v_provider,
                                                      'event_id', v_event_id),
                                   'critical');
        END IF;
    END IF;

    PERFORM lp.audit('kyc.webhook', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_row.user_id, 'provider', v_provider, 'event_id', v_event_id,
                                        'requested', v_status, 'score', p_score, 'from', v_row.status,
                                        'to', v_target, 'outcome', v_event.outcome, 'decided_by', v_decider,
                                        'underage_case_id', v_case, 'document_expired', v_lapsed IS NOT NULL,
                                        'approvals_revoked', v_revoked),
                     p_actor_id => NULL);
    RETURN v_event;
END
$$;
COMMENT ON FUNCTION api.apply_kyc_webhook(text, text, text, text, numeric, text[], date, date, timestamptz) IS 'Back office (the provider''s webhook receiver): applies one provider event to the verification with that (provider, provider reference) (LP003 none; LP132 verifications of more than one user hold it: nothing is applied), once per (provider, event id): a repeat returns the stored lp.kyc_webhook_events row and changes nothing (also once the reference is gone: destroyed records; also a concurrent delivery of the event id naming another reference, which waits for the first and applies nothing). A score (0..1) on a submitted, in_review or approved event decides by kyc.auto_approve_score / kyc.auto_decline_score (percent): approved, in_review (human review) or declined; a provider decline stays a decline. An approval of a person whose verified date of birth is under auth.minimum_age_years is a decline instead; a critical review case (underage) is filed for the account on every underage finding (that decline, or the provider''s or a score''s decline of a person whose verified date of birth is under age). Any decline applied while the verified date of birth (the event''s or the one recorded) is under age is an underage finding: every earlier approval of the user that counts ends at once (lp.kyc_underage_finding: the gate closes, live streams end, audited kyc.underage_revoke). Never moves backwards (lp.kyc_status_move) nor applies an event older than the last applied one (p_occurred_at): such an event is recorded as ignored. An approval (the provider''s or by score) of a document already expired (the event''s p_document_expires_on, else the expiry recorded before) is not an approval: the verification moves to resubmission_requested, rejection_reason and the event''s note say why (document expired on ...), and the event is acknowledged like any other. The record (date of birth, document expiry: expires_at) is written only before approval. LP018 malformed argument, LP014 implausible date of birth. Audited (kyc.webhook).';
REVOKE ALL ON FUNCTION api.apply_kyc_webhook(text, text, text, text, numeric, text[], date, date, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.apply_kyc_webhook(text, text, text, text, numeric, text[], date, date, timestamptz) TO livepanty_service;
