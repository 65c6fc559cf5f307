CREATE FUNCTION lp.end_ungated_streams() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
    v_gaps   text[];
    v_who    jsonb;
    v_ended  integer := 0;
BEGIN
    -- What time alone changes: an identity verification that expired, a sanction whose start was set ahead.
    -- Every live stream whose cast fails the go-live gate now ends, naming why to staff only. Only those streams
    -- are locked (the gate is read first without a lock, then again under it), so the sweep never holds the
    -- streams that pass it, which tips and joins share. SKIP LOCKED: a stream held right now (an update, an ending) is
    -- checked again by the next sweep; several sweeps may run at once.
    FOR v_stream IN
        SELECT s.* FROM lp.streams AS s
         WHERE s.id IN (SELECT c.id FROM lp.streams AS c
                         WHERE c.status = 'live' AND c.deleted_at IS NULL
                           AND cardinality(lp.go_live_gaps(c.id, c.host_id)) > 0)
           AND s.status = 'live'
         ORDER BY s.id
           FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        v_gaps := lp.go_live_gaps(v_stream.id, v_stream.host_id);
        IF cardinality(v_gaps) > 0 THEN
            -- The stream's end_reason and its stream_ended event are public: they say only that the gate ended
            -- it, not who lacks what (a co-performer's identity verification or sanction is nobody else's
            -- business). The audit row, for staff, names them by user id (an erasure leaves no name there): each
            -- line of the gate is 'username: what they lack', and a username holds no ': ' (lp.users).
            SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', c.user_id,
                                                         'lacks', substr(g.line, strpos(g.line, ': ') + 2))
                                      ORDER BY g.n), '[]'::jsonb)
              INTO v_who
              FROM unnest(v_gaps) WITH ORDINALITY AS g (line, n)
              LEFT JOIN (SELECT u.id AS user_id, u.username::text AS username
                           FROM lp.users AS u
                          WHERE u.id = v_stream.host_id
                             OR u.id IN (SELECT sp.performer_id FROM lp.stream_performers AS sp
                                          WHERE sp.stream_id = v_stream.id)) AS c
                ON c.username = split_part(g.line, ': ', 1);
            PERFORM lp.close_stream(v_stream, 'go-live gate', 'gate', jsonb_build_object('gaps', v_who));
            v_ended := v_ended + 1;
        END IF;
    END LOOP;
    RETURN v_ended;
END
$$;
COMMENT ON FUNCTION lp.end_ungated_streams() IS 'Ends every live stream whose cast no longer passes the go-live gate (lp.go_live_gaps: an identity verification that expired, a sanction now in force, a role or account gone), with the public reason ''go-live gate''; who lacks what, by user id, only in the audit row (stream.end, details gaps). Run by api.sweep_viewers. Returns how many it ended.';
REVOKE ALL ON FUNCTION lp.end_ungated_streams() FROM PUBLIC;
