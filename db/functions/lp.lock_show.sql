CREATE FUNCTION lp.lock_show(p_show_id uuid, p_from text[], p_action text) RETURNS lp.shows
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := api.current_user_id();
BEGIN
    -- The first step of every show transition: its stream row (FOR SHARE), the show row (FOR NO KEY UPDATE),
    -- then its participants' rows, then (api.bill_shows only) a hold and the wallets. The stream first, as
    -- lp.close_stream's callers hold it before they end its shows in id order: a show starting now would else
    -- hold its row and wait (on the index of the one running show) for an ending that waits for that row.
    -- A show the acting user may not see (lp.show_visible: of a private stream, another viewer's request, over)
    -- is not found, as one that does not exist: LP003 before LP002 or LP004, which would tell that it exists and
    -- its state; its rows are neither locked nor waited for. Checked again once both rows are locked (the
    -- stream may have been made private, the show closed, while this call waited).
    IF NOT lp.show_visible(p_show_id, v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'show not found';
    END IF;
    PERFORM 1 FROM lp.streams AS st
     WHERE st.id = (SELECT x.stream_id FROM lp.shows AS x WHERE x.id = p_show_id)
       FOR SHARE;
    PERFORM 1 FROM lp.shows AS s WHERE s.id = p_show_id FOR NO KEY UPDATE;
    -- The checks on the locked rows are lp.read_show's (its statement sees the row this call now holds).
    RETURN lp.read_show(p_show_id, p_from, p_action);
END
$$;
COMMENT ON FUNCTION lp.lock_show(uuid, text[], text) IS 'The first step of every show transition: locks the show''s stream row (FOR SHARE), then the show row, and checks its status (LP003 unknown show, or one the acting user may not see: lp.show_visible, checked before any row is locked and again on the locked rows; LP004 a status that does not allow p_action).';
REVOKE ALL ON FUNCTION lp.lock_show(uuid, text[], text) FROM PUBLIC;
