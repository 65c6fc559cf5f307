-- 0062: a bound on how long one claim on a review case may last. api.extend_case_claim renewed a claim for
-- review.claim_minutes from now as often as its holder asked, so one moderator could keep a case from every
-- other indefinitely; a claim now ends at most review.max_claim_minutes after it was taken (lp.reports.claimed_at),
-- and an extension past that is refused (LP144).
INSERT INTO lp.settings (key, value, description) VALUES
    ('review.max_claim_minutes', '120', 'Longest a claim on a review case may last, in minutes from when it was taken (lp.reports.claimed_at): api.claim_case''s lease and api.extend_case_claim''s renewals stop there, and an extension at the limit is refused (LP144); the claim then runs out and another moderator may claim the case.');
