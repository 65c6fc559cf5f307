DROP VIEW IF EXISTS api.user_summary CASCADE;
CREATE VIEW api.user_summary WITH (security_invoker = true) AS
SELECT u.id,
       u.username::text                   AS username,
       u.email::text                      AS email,
       u.display_name,
       u.role,
       u.created_at,
       u.last_login_at,
       w.balance + sh.pending             AS balance,
       w.reserved,
       w.balance + sh.pending - w.reserved AS available,
       w.currency,
       w.tokens_per_unit,
       k.status::text                     AS kyc_status,
       k.reviewed_at                      AS kyc_reviewed_at,
       s.sanction_type                    AS active_sanction,
       s.ends_at                          AS sanction_ends_at,
       -- every sanction type in force (restrictions too: mute, tip_block, stream_block, payout_hold, warning)
       ARRAY(SELECT DISTINCT us.sanction_type::text FROM lp.user_sanctions AS us
              WHERE us.user_id = u.id AND us.revoked_at IS NULL
                AND us.starts_at <= statement_timestamp() AND (us.ends_at IS NULL OR us.ends_at > statement_timestamp())
              ORDER BY 1)                 AS sanctions,
       -- review cases against the user not closed yet (RLS: only staff read them; others see 0)
       (SELECT count(*)::integer FROM lp.reports AS r
         WHERE r.reported_user_id = u.id AND r.status IN ('open', 'in_review', 'escalated')) AS open_cases,
       -- the KYC gate (lp.kyc_refusal's cache): until when the identity verification counts, and its state
       u.kyc_valid_until,
       CASE WHEN u.kyc_valid_until IS NULL THEN 'unverified'
            WHEN u.kyc_valid_until > statement_timestamp() THEN 'verified'
            ELSE 'reverification_needed' END AS kyc_gate
  FROM lp.users AS u
  LEFT JOIN lp.wallets AS w ON w.user_id = u.id
  LEFT JOIN LATERAL (
        SELECT coalesce(sum(ws.balance), 0)::bigint AS pending
          FROM lp.wallet_shards AS ws
         WHERE ws.wallet_id = w.id) AS sh ON true
  LEFT JOIN LATERAL (
        SELECT kv.status, kv.reviewed_at
          FROM lp.kyc_verifications AS kv
         WHERE kv.user_id = u.id
         ORDER BY kv.created_at DESC
         LIMIT 1) AS k ON true
  LEFT JOIN LATERAL (
        SELECT us.sanction_type, us.ends_at
          FROM lp.user_sanctions AS us
         WHERE us.user_id = u.id AND us.revoked_at IS NULL AND us.sanction_type IN ('suspension', 'ban')
           AND us.starts_at <= statement_timestamp() AND (us.ends_at IS NULL OR us.ends_at > statement_timestamp())
         ORDER BY (us.sanction_type = 'ban') DESC, us.ends_at DESC NULLS FIRST
         LIMIT 1) AS s ON true
 WHERE u.deleted_at IS NULL;
COMMENT ON VIEW api.user_summary IS 'Active users with wallet balance (balance = main balance + credit shards, reserved, available = balance - reserved), latest KYC status, the blocking sanction (suspension or ban) in force every sanction type in force (sanctions) and the review cases against the user still open (open_cases, read by staff), and the KYC gate: kyc_valid_until (NULL never verified, infinity no end) and kyc_gate (unverified, verified, reverification_needed). security_invoker: each reader sees what RLS gives them: their own row; every user row for moderators and admins, but wallet and KYC columns only where the reader may see those rows (all for admins).';
GRANT SELECT ON api.user_summary TO livepanty_app, livepanty_service;
