SET ROLE livepanty_owner;

-- KYC as a provider state machine and KYC record keeping (issue 9, section 1): lp.kyc_verifications.status is
-- lp.kyc_status (db/schema/08_vocabularies.sql, 26_kyc_verifications.sql), provider webhooks are applied once
-- per (provider, event id) (lp.kyc_webhook_events), decisions by score, a limit of declines per user, the legal
-- name encrypted in the database under lp.secrets 'kyc', the record frozen after approval, stage names.

ALTER TABLE lp.users
    ADD COLUMN kyc_extra_attempts integer NOT NULL DEFAULT 0 CHECK (kyc_extra_attempts BETWEEN 0 AND 1000);
COMMENT ON COLUMN lp.users.kyc_extra_attempts IS 'Further identity verifications admins allowed after the user reached kyc.max_declines declines (api.allow_kyc_retry, one each): the user may start a verification while their declines are fewer than kyc.max_declines + this.';

ALTER TABLE lp.kyc_verifications
    ADD COLUMN approved_at   timestamptz,
    ADD COLUMN decided_by    text CHECK (decided_by IN ('admin', 'provider', 'score', 'age_check', 'override')),
    ADD COLUMN reasons       text[] CHECK (cardinality(reasons) <= 20),
    ADD COLUMN last_event_at timestamptz;
COMMENT ON COLUMN lp.kyc_verifications.approved_at IS 'When the verification was first approved. From then on its record (user, level, provider and reference, document type, country and references, legal name, date of birth, stage names) is frozen: lp.kyc_record_frozen refuses any change (LP130) but its destruction at the end of the legal retention.';
COMMENT ON COLUMN lp.kyc_verifications.decided_by IS 'Who made the current decision: admin (manual review), provider (the provider''s own decision), score (kyc.auto_approve_score / kyc.auto_decline_score), age_check (declined: the verified date of birth is under auth.minimum_age_years), override (an admin''s api.override_kyc_decision).';
COMMENT ON COLUMN lp.kyc_verifications.reasons IS 'The provider''s reason codes of its latest applied webhook (e.g. document_expired, face_mismatch).';
COMMENT ON COLUMN lp.kyc_verifications.last_event_at IS 'Occurrence time of the latest applied provider webhook: an older event is not applied (out of order).';
COMMENT ON COLUMN lp.kyc_verifications.legal_name_encrypted IS 'Legal name, encrypted in the database with pgcrypto (ext.pgp_sym_encrypt, AES-256) under lp.secrets ''kyc'', which only owner code reads (lp.kyc_encrypt / lp.kyc_decrypt); the application passes the plaintext in (api.submit_kyc) and never gets it back. Only compliance officers read it decrypted (api.kyc_record, audited).';

CREATE INDEX kyc_verifications_reference_idx ON lp.kyc_verifications (provider, provider_reference)
    WHERE provider_reference IS NOT NULL;

CREATE TABLE lp.kyc_aliases (
    verification_id uuid NOT NULL REFERENCES lp.kyc_verifications (id) ON DELETE RESTRICT,
    alias           text NOT NULL CHECK (char_length(alias) BETWEEN 1 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (verification_id, alias)
);
COMMENT ON TABLE lp.kyc_aliases IS 'Stage names (aliases) a performer declared with an identity verification (api.submit_kyc): part of the KYC record, frozen once the verification is approved (LP130), read only by compliance officers (api.kyc_record). No application role has any privilege on it.';

CREATE TABLE lp.kyc_webhook_events (
    provider           text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{1,31}$'),
    event_id           text NOT NULL CHECK (char_length(event_id) BETWEEN 1 AND 200),
    verification_id    uuid NOT NULL REFERENCES lp.kyc_verifications (id) ON DELETE RESTRICT,
    requested_status   lp.kyc_status NOT NULL,
    score              numeric(5, 4) CHECK (score BETWEEN 0 AND 1),
    status_before      lp.kyc_status NOT NULL,
    status_after       lp.kyc_status NOT NULL,
    outcome            text NOT NULL CHECK (outcome IN ('applied', 'ignored')),
    note               text CHECK (char_length(note) <= 200),
    occurred_at        timestamptz,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
COMMENT ON TABLE lp.kyc_webhook_events IS 'Every provider webhook api.apply_kyc_webhook handled, once per (provider, event id): a repeat returns this row and changes nothing. outcome applied (the verification moved from status_before to status_after) or ignored (note: out of order, not a forward move). Holds no personal data. Service only.';
CREATE INDEX kyc_webhook_events_verification_idx ON lp.kyc_webhook_events (verification_id, received_at);

ALTER TABLE lp.kyc_aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_aliases FORCE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_webhook_events FORCE ROW LEVEL SECURITY;

-- The record of an approved verification is frozen.
CREATE FUNCTION lp.kyc_record_frozen() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
    v_key text;
BEGIN
    -- The first approval is stamped, however it is made (a review, a webhook, an override, a direct insert).
    IF TG_OP <> 'DELETE' AND NEW.status = 'approved' AND NEW.approved_at IS NULL
       AND (TG_OP = 'INSERT' OR OLD.approved_at IS NULL) THEN
        NEW.approved_at := coalesce(NEW.reviewed_at, now());
    END IF;
    IF TG_OP = 'INSERT' OR OLD.approved_at IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP130', MESSAGE = 'an approved verification is kept';
    END IF;
    -- A recorded value never changes; it may only be destroyed (set to NULL at the end of the legal retention)
    -- and a value still missing at approval may be completed once.
    v_old := to_jsonb(OLD);
    v_new := to_jsonb(NEW);
    FOREACH v_key IN ARRAY ARRAY['user_id', 'level', 'provider', 'provider_reference', 'document_type',
                                 'document_country', 'document_front_url', 'document_back_url', 'selfie_url',
                                 'legal_name_encrypted', 'verified_date_of_birth', 'approved_at'] LOOP
        IF v_old -> v_key IS DISTINCT FROM v_new -> v_key
           AND jsonb_typeof(v_old -> v_key) <> 'null' AND jsonb_typeof(v_new -> v_key) <> 'null' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP130', MESSAGE = 'the record of an approved verification is frozen',
                DETAIL = format('column %s', v_key);
        END IF;
    END LOOP;
    IF NEW.approved_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP130', MESSAGE = 'the record of an approved verification is frozen',
            DETAIL = 'column approved_at';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.kyc_record_frozen() IS 'Trigger of lp.kyc_verifications: once a verification is approved (approved_at), its record (user, level, provider and reference, document type, country and references, legal name, date of birth; stage names: lp.kyc_aliases_frozen) cannot be changed or deleted (LP130), for every role including the owner; a value may only be destroyed (set to NULL, lp.destroy_kyc_records) or, when missing at approval, completed. Stamps approved_at at the first approval. Status and review columns stay free (an approval may expire or be overridden). Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_record_frozen() FROM PUBLIC;

CREATE FUNCTION lp.kyc_aliases_frozen() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_verification uuid;
BEGIN
    -- Stage names: none added, changed or removed once the verification is approved, unless its record was
    -- destroyed (legal name, date of birth and document country gone: lp.destroy_kyc_records).
    IF TG_OP = 'INSERT' THEN
        v_verification := NEW.verification_id;
    ELSE
        v_verification := OLD.verification_id;
    END IF;
    IF EXISTS (SELECT 1 FROM lp.kyc_verifications AS k
                WHERE k.id = v_verification
                  AND k.approved_at IS NOT NULL
                  AND NOT (TG_OP = 'DELETE' AND k.legal_name_encrypted IS NULL
                           AND k.verified_date_of_birth IS NULL AND k.document_country IS NULL)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP130', MESSAGE = 'the stage names of an approved verification are frozen';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.kyc_aliases_frozen() IS 'Trigger of lp.kyc_aliases: the stage names of an approved verification cannot be added, changed or removed (LP130), for every role including the owner, unless the verification''s record was destroyed (lp.destroy_kyc_records). Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_aliases_frozen() FROM PUBLIC;

CREATE TRIGGER kyc_verifications_record_frozen BEFORE INSERT OR UPDATE OR DELETE ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.kyc_record_frozen();
CREATE TRIGGER kyc_aliases_record_frozen BEFORE INSERT OR UPDATE OR DELETE ON lp.kyc_aliases
    FOR EACH ROW EXECUTE FUNCTION lp.kyc_aliases_frozen();

-- TRUNCATE fires no row trigger: it would delete approved records at once, for the owner too. Refused.
CREATE FUNCTION lp.kyc_records_kept() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'LP130',
        MESSAGE = pg_catalog.format('%s.%s keeps the records of approved identity verifications: %s is not allowed',
                                    TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP),
        HINT = 'Records are destroyed at the end of their retention only (lp.destroy_kyc_records).';
END
$$;
COMMENT ON FUNCTION lp.kyc_records_kept() IS 'Statement trigger of lp.kyc_verifications and lp.kyc_aliases: rejects TRUNCATE (LP130), for every role including the owner, which the row triggers lp.kyc_record_frozen and lp.kyc_aliases_frozen cannot see. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_records_kept() FROM PUBLIC;
CREATE TRIGGER kyc_verifications_no_truncate BEFORE TRUNCATE ON lp.kyc_verifications
    FOR EACH STATEMENT EXECUTE FUNCTION lp.kyc_records_kept();
CREATE TRIGGER kyc_aliases_no_truncate BEFORE TRUNCATE ON lp.kyc_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION lp.kyc_records_kept();

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.secrets and lp.settings).
INSERT INTO lp.secrets (name, value) VALUES ('kyc', ext.gen_random_bytes(32));
INSERT INTO lp.settings (key, value, description) VALUES
    ('kyc.auto_approve_score', '90', 'Provider score (percent, 0..100) at or above which a verification is approved automatically (api.apply_kyc_webhook), unless the provider declined it or the person is under age.'),
    ('kyc.auto_decline_score', '30', 'Provider score (percent, 0..100) below which a verification is declined automatically; between this and kyc.auto_approve_score it goes to human review (in_review).'),
    ('kyc.max_declines', '3', 'Declined identity verifications after which a user cannot start another one until an admin allows one more (api.allow_kyc_retry).');
