-- 0066: since 0065 review.claim_minutes has a second use: api.claim_case does not hand a moderator back a case
-- whose claim of theirs ended (given back, or run out) less than this many minutes ago, so a claim is not
-- renewed past review.max_claim_minutes by taking the case again. The functions are repeatable; this migration
-- only says so in the description of the setting.
UPDATE lp.settings
   SET description = 'Length in minutes of a moderator''s lease on a claimed case (api.claim_case); api.extend_case_claim renews it from now. Also how long api.claim_case does not hand a moderator back a case whose claim of theirs ended (given back with api.release_case, or run out): meanwhile the others may claim it, so a claim is not renewed past review.max_claim_minutes by taking the case again.'
 WHERE key = 'review.claim_minutes';
