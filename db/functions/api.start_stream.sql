CREATE FUNCTION api.start_stream(p_stream_id uuid) RETURNS api.stream_start
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host   uuid := lp.require_user('performer');
    v_stream lp.streams;
    v_gaps   text[];
    v_key    text := lp.new_token();
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled'], 'go live', v_host);
    PERFORM lp.assert_not_sanctioned(v_host);
    -- The co-performers' rows are read under the stream's lock: add and remove take it too.
    v_gaps := lp.go_live_gaps(v_stream.id, v_host);
    IF cardinality(v_gaps) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP120', MESSAGE = 'the stream cannot go live',
            DETAIL = array_to_string(v_gaps, '; '),
            HINT = 'Everyone on camera needs an approved identity verification and their consent (api.consent_to_stream).';
    END IF;
    BEGIN
        UPDATE lp.streams AS s
           SET status = 'live', started_at = now(), stream_key_hash = lp.hash_token(v_key),
               stream_key_issued_at = now()
         WHERE s.id = v_stream.id
        RETURNING * INTO v_stream;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'LP121', MESSAGE = 'the host has another stream live',
            HINT = 'End it first (api.end_stream).';
    END;
    -- The viewer counters, spread over rows (lp.count_viewers).
    INSERT INTO lp.stream_counters (stream_id, shard)
    SELECT v_stream.id, n FROM generate_series(1, (lp.setting('streams.counter_shards'))::integer) AS n
    ON CONFLICT DO NOTHING;
    PERFORM lp.emit_event(v_stream.id, 'stream_started', jsonb_build_object('started_at', v_stream.started_at));
    PERFORM lp.activate_next_goal(v_stream.id);  -- the first queued goal, if any
    PERFORM lp.audit('stream.start', 'stream', v_stream.id::text,
                     jsonb_build_object('performers', (lp.stream_info(v_stream)).performers));
    RETURN ROW(v_stream.id, v_stream.status::text, v_stream.started_at, v_key, v_stream.stream_key_issued_at)::api.stream_start;
END
$$;
COMMENT ON FUNCTION api.start_stream(uuid) IS 'The host takes their scheduled stream live, through the go-live gate: the host and every co-performer must be active performers with an approved, unexpired identity verification, no suspension or ban in force, and their consent for this stream (LP120 names who lacks what). Issues the ingest key, returned this once (only its SHA-256 is stored). LP003 unknown stream, LP002 not the host, LP004 not scheduled, LP022 the host is suspended or banned, LP120 the gate, LP121 the host has another stream live. Audited (stream.start).';
REVOKE ALL ON FUNCTION api.start_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.start_stream(uuid) TO livepanty_app, livepanty_service;
