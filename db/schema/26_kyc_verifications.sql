SET ROLE livepanty_owner;

CREATE TABLE lp.kyc_verifications (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    level                lp.kyc_level NOT NULL DEFAULT 'identity',
    status               lp.kyc_status NOT NULL DEFAULT 'submitted',
    provider             text NOT NULL DEFAULT 'manual' CHECK (provider ~ '^[a-z][a-z0-9_]{1,31}$'),
    provider_reference   text CHECK (char_length(provider_reference) <= 255),
    document_type        lp.document_type,
    document_country     text CHECK (document_country ~ '^[A-Z]{2}$'),
    document_front_url   text CHECK (document_front_url ~ '^s3://[a-z0-9.-]{3,63}/.+'),
    document_back_url    text CHECK (document_back_url ~ '^s3://[a-z0-9.-]{3,63}/.+'),
    selfie_url           text CHECK (selfie_url ~ '^s3://[a-z0-9.-]{3,63}/.+'),
    legal_name_encrypted bytea,
    verification_score   numeric(5, 4) CHECK (verification_score BETWEEN 0 AND 1),
    verified_date_of_birth date,
    submitted_at         timestamptz NOT NULL DEFAULT now(),
    reviewed_at          timestamptz,
    reviewed_by          uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    rejection_reason     text CHECK (char_length(rejection_reason) <= 1000),
    expires_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    reviewed_by_label    text,
    CHECK (status NOT IN ('approved', 'declined') OR reviewed_at IS NOT NULL),
    CHECK (status <> 'declined' OR rejection_reason IS NOT NULL)
);
COMMENT ON TABLE lp.kyc_verifications IS 'Age and identity verification records; an approved one is required before a performer''s payout. Kept for compliance (RESTRICT on user delete).';
COMMENT ON COLUMN lp.kyc_verifications.level IS 'age: age only; identity: full identity (required for payouts).';
COMMENT ON COLUMN lp.kyc_verifications.document_front_url IS 'Location of the document image in encrypted S3 storage (s3://bucket/key); the database never holds the image.';
COMMENT ON COLUMN lp.kyc_verifications.legal_name_encrypted IS 'Legal name encrypted by the application (envelope encryption); the database never sees the key.';
COMMENT ON COLUMN lp.kyc_verifications.verification_score IS 'Provider confidence 0..1 used for automated processing.';
COMMENT ON COLUMN lp.kyc_verifications.expires_at IS 'An approval stops counting after this time (documents expire).';
COMMENT ON COLUMN lp.kyc_verifications.reviewed_by_label IS 'What users who are not staff see instead of reviewed_by: lp.staff_label(reviewed_by) (e.g. ''admin #3f9a''), set by a trigger when reviewed_by is set; reviewed_by itself is not granted to the application roles.';

CREATE UNIQUE INDEX kyc_verifications_one_open_key ON lp.kyc_verifications (user_id)
    WHERE status IN ('started', 'submitted', 'in_review', 'resubmission_requested');
CREATE INDEX kyc_verifications_user_idx ON lp.kyc_verifications (user_id, created_at DESC);
CREATE INDEX kyc_verifications_queue_idx ON lp.kyc_verifications (submitted_at) WHERE status IN ('submitted', 'in_review');

ALTER TABLE lp.kyc_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_verifications FORCE ROW LEVEL SECURITY;
CREATE TRIGGER kyc_verifications_touch_updated_at BEFORE UPDATE ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();
CREATE TRIGGER kyc_verifications_label_staff BEFORE INSERT OR UPDATE ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('reviewed_by', 'reviewed_by_label');

RESET ROLE;
