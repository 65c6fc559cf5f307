-- 0065: a moderator does not renew a claim by taking the case again. Since 0062 a claim on a review case ends at
-- most review.max_claim_minutes after it was taken (lp.reports.claimed_at), but its holder could give the case
-- back (api.release_case) and claim it again at once, in the same transaction too (api.claim_case hands out
-- the first case of the queue, and the case they just held is usually that one), or claim it again the moment
-- their claim ran out: a fresh claimed_at each time, so one moderator could keep a case from every other
-- indefinitely. api.claim_case now hands nobody a case whose claim of theirs ended less than
-- review.claim_minutes ago; a release is remembered on the case for that (released_by, released_at), a claim
-- that ran out stays on the row until the next claim (assigned_to, claim_expires_at).
SET ROLE livepanty_owner;
ALTER TABLE lp.reports
    ADD COLUMN released_by uuid REFERENCES lp.users (id) ON DELETE SET NULL,
    ADD COLUMN released_at timestamptz;
COMMENT ON COLUMN lp.reports.released_by IS 'The moderator who last gave the case back (api.release_case); with released_at: api.claim_case does not hand them the case again for review.claim_minutes, so a claim is not renewed past review.max_claim_minutes by releasing and claiming again. Not granted to the application roles (a staff id).';
COMMENT ON COLUMN lp.reports.released_at IS 'When released_by last gave the case back (api.release_case).';
RESET ROLE;
