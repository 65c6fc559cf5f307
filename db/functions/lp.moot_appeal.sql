CREATE FUNCTION lp.moot_appeal(p_sanction lp.user_sanctions) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_appeal lp.sanction_appeals;
BEGIN
    -- Called by whoever just lifted p_sanction (its row locked: the lock order is the sanction, then its
    -- appeal, as in api.appeal_sanction and api.decide_appeal). An appeal still pending has nothing left to
    -- decide: it is closed as moot, by the one who lifted the sanction, with the lift's reason.
    UPDATE lp.sanction_appeals AS a
       SET status = 'moot', decided_by = p_sanction.revoked_by, decided_at = now(),
           decision_reasons = left('The sanction was lifted: ' || p_sanction.revoke_reason, 2000)
     WHERE a.sanction_id = p_sanction.id AND a.status = 'pending'
    RETURNING a.* INTO v_appeal;
    IF v_appeal.id IS NOT NULL THEN
        PERFORM lp.audit('appeal.moot', 'sanction', p_sanction.id::text,
                         jsonb_build_object('appeal_id', v_appeal.id, 'user_id', v_appeal.user_id));
    END IF;
    RETURN v_appeal.id;
END
$$;
COMMENT ON FUNCTION lp.moot_appeal(lp.user_sanctions) IS 'Owner only (api.revoke_sanction, api.resolve_case lifting an automated sanction): closes the appeal still pending of a sanction just lifted (p_sanction, revoked and locked) as moot: decided_by who lifted it, decided_at now, decision_reasons ''The sanction was lifted: <revoke reason>''. Returns the appeal id, NULL when none was pending. Audited (appeal.moot, target the sanction).';
REVOKE ALL ON FUNCTION lp.moot_appeal(lp.user_sanctions) FROM PUBLIC;
