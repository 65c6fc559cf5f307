-- Undo 0062_review_claim_limit.
DELETE FROM lp.settings WHERE key = 'review.max_claim_minutes';
