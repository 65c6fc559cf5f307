CREATE FUNCTION api.replay_erasure(p_entry jsonb)
RETURNS TABLE (erasure_id uuid, user_id uuid, outcome text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_entry    lp.erasures;
    v_local    lp.erasures;
    v_outcome  text;
    v_erased   jsonb;
    v_ended    integer := 0;
BEGIN
    -- One exported row of the erasure log (api.list_erasures), re-applied to a database restored from a backup
    -- older than it: the personal data the erasure removed came back with the backup and is removed again.
    BEGIN
        v_entry := jsonb_populate_record(NULL::lp.erasures, p_entry);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_entry is not an exported erasure',
            DETAIL = SQLERRM;
    END;
    IF p_entry IS NULL OR jsonb_typeof(p_entry) <> 'object' OR octet_length(p_entry::text) > 65536
       OR v_entry.id IS NULL OR v_entry.user_id IS NULL OR char_length(v_entry.reason) > 1000
       OR jsonb_typeof(coalesce(v_entry.erased, '{}')) <> 'object' OR jsonb_typeof(coalesce(v_entry.retained, '[]')) <> 'array'
       OR v_entry.via IS NULL OR v_entry.via NOT IN ('self', 'admin') OR v_entry.erased_at IS NULL
       OR v_entry.erased_at > now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_entry is not an exported erasure',
            HINT = 'Pass one row of api.list_erasures as JSON (livepanty-db privacy export-erasures writes them).';
    END IF;
    SELECT e.* INTO v_local FROM lp.erasures AS e WHERE e.user_id = v_entry.user_id FOR UPDATE;
    IF FOUND THEN
        v_outcome := 'already_applied';
        -- The KYC purge that ran after the backup: destroy those records again.
        IF v_entry.kyc_destroyed_at IS NOT NULL AND v_local.kyc_destroyed_at IS NULL THEN
            PERFORM lp.destroy_kyc_records(v_entry.user_id);
            UPDATE lp.erasures AS e SET kyc_destroyed_at = v_entry.kyc_destroyed_at, replayed_at = now()
             WHERE e.id = v_local.id;
            v_outcome := 'kyc_destroyed';
        END IF;
    ELSE
        IF EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_entry.user_id) THEN
            PERFORM 1 FROM lp.users AS u WHERE u.id = v_entry.user_id FOR NO KEY UPDATE;
            -- The erasure was decided and done: no refusal now (money in flight in the restored copy stays as
            -- it is, referring to the pseudonymous id).
            v_ended := lp.end_streams_of(v_entry.user_id, 'account erased', 'account erased');
            v_erased := lp.erase_personal_data(v_entry.user_id) || jsonb_build_object('streams_ended', v_ended);
            IF v_entry.kyc_destroyed_at IS NOT NULL THEN
                PERFORM lp.destroy_kyc_records(v_entry.user_id);
            END IF;
            v_outcome := 'replayed';
        ELSE
            v_erased := '{}';
            v_outcome := 'user_absent';
        END IF;
        -- The log row comes back as it was (so a later export is complete again), marked as replayed.
        INSERT INTO lp.erasures (id, user_id, via, requested_by, reason, erased_at, erased, retained,
                                 kyc_retained_until, kyc_destroyed_at, replayed_at)
        VALUES (v_entry.id, v_entry.user_id, v_entry.via, v_entry.requested_by, v_entry.reason, v_entry.erased_at,
                coalesce(v_entry.erased, '{}'), coalesce(v_entry.retained, '[]'), v_entry.kyc_retained_until,
                v_entry.kyc_destroyed_at, now());
    END IF;
    PERFORM lp.audit('user.erase_replay', 'user', v_entry.user_id::text,
                     jsonb_build_object('erasure_id', v_entry.id, 'outcome', v_outcome, 'erased', v_erased), NULL, NULL);
    RETURN QUERY SELECT v_entry.id, v_entry.user_id, v_outcome;
END
$$;
COMMENT ON FUNCTION api.replay_erasure(jsonb) IS 'Back office (livepanty-db privacy replay-erasures), after restoring a backup older than some erasures: re-applies one exported erasure log row. outcome: replayed (the user''s personal data, back from the backup, erased again; the log row restored), already_applied (the restored database has it), kyc_destroyed (it had it, but not the later destruction of the KYC records: done now), user_absent (the backup predates the account; only the log row is restored). Idempotent. LP018 not an exported erasure.';
REVOKE ALL ON FUNCTION api.replay_erasure(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.replay_erasure(jsonb) TO livepanty_service;
