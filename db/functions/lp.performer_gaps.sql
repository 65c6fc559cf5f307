CREATE FUNCTION lp.performer_gaps(p_user_id uuid) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- What a user of this shard lacks to be on camera, whatever the stream (its consent is the stream's, read by
    -- lp.go_live_gaps). Empty: nothing. A user who is not here (or a stub) is no active performer here.
    SELECT CASE WHEN u.id IS NULL THEN ARRAY['not an active performer']
                ELSE array_remove(ARRAY[
                         CASE WHEN u.deleted_at IS NOT NULL OR u.role <> 'performer' THEN 'not an active performer' END,
                         lp.kyc_refusal(u.id),  -- the KYC gate: never verified, or re-verification needed
                         CASE WHEN lp.sanction_blocks(u.id, 'stream') THEN 'suspended, banned or blocked from streaming' END],
                     NULL) END
      FROM (SELECT p_user_id AS id) AS k
      LEFT JOIN lp.users AS u ON u.id = k.id
                             AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = k.id)
$$;
COMMENT ON FUNCTION lp.performer_gaps(uuid) IS 'The go-live gate''s rule for one person, whatever the stream: what a user of this shard lacks to be on camera (an active performer account, a valid identity verification, lp.kyc_refusal; no sanction in force that forbids going live, lp.sanction_blocks). Empty when nothing. A user who does not live here (unknown, or the stub of a user of another shard) is not an active performer here: their own shard answers for them (shard.performer_gaps). Owner only.';
REVOKE ALL ON FUNCTION lp.performer_gaps(uuid) FROM PUBLIC;
