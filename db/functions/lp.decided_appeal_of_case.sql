CREATE FUNCTION lp.decided_appeal_of_case(p_case lp.reports, p_moderator uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Whether p_moderator decided (granted or denied; not a moot closing) the appeal of a sanction of the case:
    -- the sanction the case names (a flag's automated suspension) or one naming the case (a chargeback's
    -- tip_block and payout_holds, a sanction issued with the case). Read from the appeals the moderator
    -- decided (few), not from the sanctions (no index on report_id).
    SELECT EXISTS (SELECT 1 FROM lp.sanction_appeals AS a
                    WHERE a.decided_by = p_moderator AND a.status IN ('granted', 'denied')
                      AND (a.sanction_id = p_case.sanction_id
                           OR EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                                       WHERE s.id = a.sanction_id AND s.report_id = p_case.id)))
$$;
COMMENT ON FUNCTION lp.decided_appeal_of_case(lp.reports, uuid) IS 'Owner only: whether p_moderator decided (granted or denied) the appeal of a sanction of the case (the one it names, or one naming it): such a moderator does not work the case (lp.lock_claimed_case, api.claim_case), as the moderator who resolved a case does not decide the appeal of its sanction (api.decide_appeal).';
REVOKE ALL ON FUNCTION lp.decided_appeal_of_case(lp.reports, uuid) FROM PUBLIC;
