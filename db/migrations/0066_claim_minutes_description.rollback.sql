-- Undo 0066_claim_minutes_description (the description of review.claim_minutes before it, as 0027 seeded it).
UPDATE lp.settings
   SET description = 'Length in minutes of a moderator''s lease on a claimed case (api.claim_case); api.extend_case_claim renews it from now.'
 WHERE key = 'review.claim_minutes';
