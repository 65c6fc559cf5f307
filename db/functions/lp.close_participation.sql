CREATE FUNCTION lp.close_participation(p_participant lp.show_participants, p_show lp.shows, p_at timestamptz,
                                       p_mode text) RETURNS lp.show_participants
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_row lp.show_participants;
BEGIN
    -- A viewer is out of a show: what they owe is fixed now (lp.show_due by who ended it, never less than
    -- what was already captured); api.bill_shows captures the rest and releases their hold. The caller holds
    -- the show row, then this participant's row.
    UPDATE lp.show_participants AS p
       SET left_at = p_at, viewer_caused = (p_mode = 'viewer'),
           due_tokens = greatest(p.billed_tokens, lp.show_due(p_participant, p_show, p_at, p_mode))
     WHERE p.id = p_participant.id AND p.left_at IS NULL
    RETURNING p.* INTO v_row;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION lp.close_participation(lp.show_participants, lp.shows, timestamptz, text) IS 'Takes a viewer out of a show at p_at and fixes what they owe (lp.show_due in mode viewer or host; never less than already captured); api.bill_shows settles it. NULL when they were already out.';
REVOKE ALL ON FUNCTION lp.close_participation(lp.show_participants, lp.shows, timestamptz, text) FROM PUBLIC;
