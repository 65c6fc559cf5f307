-- 0049: a KYC provider's reference names one person. api.submit_kyc refuses a reference that another user's
-- verification holds (LP132), checking under the named lock added here; api.apply_kyc_webhook refuses (LP132)
-- an event whose reference verifications of more than one user hold, instead of applying it to the newest
-- (which let anyone with an account take another person's approval). References two users already share are
-- left as they are: their events are refused until a compliance officer sorts them out (docs/compliance.md).
-- As the migrating superuser: row level security on lp.locks lets no role, the owner included, add or remove rows.
INSERT INTO lp.locks (name, description) VALUES
    ('kyc.references', 'Taken by api.submit_kyc, before any row, when the verification names a provider reference: two submissions of one reference check one after the other that no other user''s verification holds it.');
