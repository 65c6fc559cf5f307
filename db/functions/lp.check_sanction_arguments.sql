CREATE FUNCTION lp.check_sanction_arguments(
    p_user_id          uuid,
    p_type             text,
    p_ends_at          timestamptz,
    p_issued_by        uuid,
    p_review_on_expiry boolean DEFAULT false
) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- The argument rules of every sanction, in this order, wherever it is decided: lp.issue_sanction, and
    -- lp.request_remote_sanction for a user of another shard (whose shard issues it later).
    PERFORM lp.check_choice(p_type, 'lp.sanction_type', 'sanction type');
    IF p_type = 'suspension' AND p_ends_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a suspension needs an end time';
    END IF;
    IF p_ends_at IS NOT NULL AND p_ends_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the end time must be in the future';
    END IF;
    IF coalesce(p_review_on_expiry, false) AND p_type <> 'suspension' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'only a suspension can send the account back to review';
    END IF;
    IF p_user_id IS NOT DISTINCT FROM p_issued_by THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may sanction themselves';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.check_sanction_arguments(uuid, text, timestamptz, uuid, boolean) IS 'Owner only: the argument rules of a sanction (lp.issue_sanction, lp.request_remote_sanction): LP018 unknown type, a suspension without an end, an end not in the future, review_on_expiry on anything but a suspension; LP002 the issuer themselves.';
REVOKE ALL ON FUNCTION lp.check_sanction_arguments(uuid, text, timestamptz, uuid, boolean) FROM PUBLIC;
