SET ROLE livepanty_owner;

-- The one KYC gate (issue 9, section 1): whether a user holds a valid identity verification is cached on
-- lp.users (kyc_valid_until), kept right by a trigger on lp.kyc_verifications whatever changes a verification
-- (a review, a provider webhook, api.expire_kyc_approvals), and read by lp.kyc_refusal only.
ALTER TABLE lp.users
    ADD COLUMN kyc_valid_until timestamptz;
COMMENT ON COLUMN lp.users.kyc_valid_until IS 'Until when the user''s identity verification counts (infinity: no end); in the past: re-verification needed; NULL: never approved. A cache of lp.kyc_verifications kept by the trigger kyc_verifications_sync_gate (lp.refresh_kyc_gate); read only through lp.kyc_refusal.';
CREATE INDEX users_kyc_valid_until_idx ON lp.users (kyc_valid_until) WHERE kyc_valid_until IS NOT NULL;

ALTER TABLE lp.kyc_verifications
    ADD COLUMN approval_ended_at timestamptz;
COMMENT ON COLUMN lp.kyc_verifications.approval_ended_at IS 'When an approval stopped counting (its document expired, or kyc.approval_valid_days passed): set when the verification leaves status approved (api.expire_kyc_approvals marks it expired). Its user needs re-verification.';
CREATE INDEX kyc_verifications_approved_idx ON lp.kyc_verifications (user_id) WHERE status = 'approved';

CREATE FUNCTION lp.kyc_approval_end(p_reviewed_at timestamptz, p_expires_at timestamptz) RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The earlier of the verification's own end (expires_at: the document's expiry) and the approval period.
    SELECT least(coalesce(p_expires_at, 'infinity'::timestamptz),
                 CASE WHEN d.days > 0 THEN coalesce(p_reviewed_at, now()) + make_interval(days => d.days)
                      ELSE 'infinity'::timestamptz END)
      FROM (SELECT (SELECT (s.value #>> '{}')::integer FROM lp.settings AS s
                     WHERE s.key = 'kyc.approval_valid_days') AS days) AS d
$$;
COMMENT ON FUNCTION lp.kyc_approval_end(timestamptz, timestamptz) IS 'When an approval given at p_reviewed_at stops counting: the earlier of p_expires_at (the document''s expiry) and p_reviewed_at + kyc.approval_valid_days (0: no period); infinity when neither applies. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_approval_end(timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION lp.refresh_kyc_gate(p_user_id uuid) RETURNS timestamptz
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_until timestamptz;
BEGIN
    -- The latest end of an approval in force; failing that, when the last approval ended (re-verification
    -- needed); NULL when the user was never approved.
    SELECT coalesce(
               (SELECT max(lp.kyc_approval_end(k.reviewed_at, k.expires_at)) FROM lp.kyc_verifications AS k
                 WHERE k.user_id = p_user_id AND k.level = 'identity' AND k.status = 'approved'),
               (SELECT max(k.approval_ended_at) FROM lp.kyc_verifications AS k
                 WHERE k.user_id = p_user_id AND k.level = 'identity' AND k.approval_ended_at IS NOT NULL))
      INTO v_until;
    UPDATE lp.users AS u SET kyc_valid_until = v_until
     WHERE u.id = p_user_id AND u.kyc_valid_until IS DISTINCT FROM v_until;
    RETURN v_until;
END
$$;
COMMENT ON FUNCTION lp.refresh_kyc_gate(uuid) IS 'Recomputes lp.users.kyc_valid_until of one user from their identity verifications (lp.kyc_approval_end of each approval in force, else the last approval_ended_at, else NULL) and returns it. Called by the trigger on lp.kyc_verifications and by api.expire_kyc_approvals. Owner only.';
REVOKE ALL ON FUNCTION lp.refresh_kyc_gate(uuid) FROM PUBLIC;

CREATE FUNCTION lp.kyc_verifications_end_approval() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- An approval that stops being one (expired by the job or by the provider, or any other change) ended at
    -- its computed end when that has passed, else now.
    IF OLD.status = 'approved' AND NEW.status <> 'approved' AND NEW.approval_ended_at IS NULL THEN
        NEW.approval_ended_at := least(now(), lp.kyc_approval_end(OLD.reviewed_at, OLD.expires_at));
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.kyc_verifications_end_approval() IS 'Trigger of lp.kyc_verifications: stamps approval_ended_at when a verification leaves status approved. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_verifications_end_approval() FROM PUBLIC;

CREATE FUNCTION lp.kyc_verifications_sync_gate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM lp.refresh_kyc_gate(OLD.user_id);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
        PERFORM lp.refresh_kyc_gate(OLD.user_id);
    END IF;
    PERFORM lp.refresh_kyc_gate(NEW.user_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION lp.kyc_verifications_sync_gate() IS 'Trigger of lp.kyc_verifications: keeps lp.users.kyc_valid_until (the cache the KYC gate lp.kyc_refusal reads) right after every change of a verification (lp.refresh_kyc_gate). Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_verifications_sync_gate() FROM PUBLIC;

CREATE TRIGGER kyc_verifications_end_approval BEFORE UPDATE ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.kyc_verifications_end_approval();
CREATE TRIGGER kyc_verifications_sync_gate
    AFTER INSERT OR DELETE OR UPDATE OF user_id, level, status, reviewed_at, expires_at, approval_ended_at
    ON lp.kyc_verifications
    FOR EACH ROW EXECUTE FUNCTION lp.kyc_verifications_sync_gate();

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('kyc.approval_valid_days', '365', 'Days an identity verification counts after its approval, unless its document expires first (0: until the document expires). Then the performer needs re-verification (api.expire_kyc_approvals).');
