SET ROLE livepanty_owner;

CREATE TABLE lp.adjustments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    amount          bigint NOT NULL CHECK (amount <> 0),
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    created_by      uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    transaction_id  uuid NOT NULL,
    idempotency_key text NOT NULL UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by_label text
);
COMMENT ON TABLE lp.adjustments IS 'Admin corrections: a transfer between a user''s wallet and the adjustments system wallet, with a mandatory reason (audited). Nothing ever edits a ledger entry.';
COMMENT ON COLUMN lp.adjustments.amount IS 'Signed: positive credits the user, negative debits them.';
COMMENT ON COLUMN lp.adjustments.created_by_label IS 'What users who are not staff see instead of created_by: lp.staff_label(created_by) (e.g. ''admin #3f9a''), set by a trigger when created_by is set; created_by itself is not granted to the application roles.';

CREATE INDEX adjustments_user_idx ON lp.adjustments (user_id, created_at DESC);

ALTER TABLE lp.adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.adjustments FORCE ROW LEVEL SECURITY;
CREATE TRIGGER adjustments_label_staff BEFORE INSERT OR UPDATE ON lp.adjustments
    FOR EACH ROW EXECUTE FUNCTION lp.label_staff('created_by', 'created_by_label');

RESET ROLE;
