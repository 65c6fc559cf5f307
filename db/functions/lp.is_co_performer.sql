CREATE FUNCTION lp.is_co_performer(p_stream_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Whether the acting user is on camera in stream p_stream_id as a co-performer (lp.stream_performers): the
    -- co-performer part of lp.stream_visible's rule, for the lp.streams policy. Read as the owner: a policy on
    -- lp.streams reading lp.stream_performers under row level security would recurse (its policies read
    -- lp.streams). Only the acting user is asked about, never another one (who else is on camera stays hidden).
    SELECT EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                    WHERE sp.stream_id = p_stream_id AND sp.performer_id = api.current_user_id())
$$;
COMMENT ON FUNCTION lp.is_co_performer(uuid) IS 'RLS on lp.streams: whether the acting user is a co-performer of stream p_stream_id (a row of lp.stream_performers; removed from the stream, no longer). False when nobody acts. SECURITY DEFINER so the policy reads lp.stream_performers past RLS, whose policies read lp.streams (a policy reading it directly would recurse). Asks about the acting user only.';
REVOKE ALL ON FUNCTION lp.is_co_performer(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.is_co_performer(uuid) TO livepanty_app, livepanty_service;
