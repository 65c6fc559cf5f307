CREATE FUNCTION api.list_menu(p_performer_id uuid) RETURNS SETOF lp.tip_menu_items
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_all   boolean := p_performer_id = v_actor OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
BEGIN
    -- Active items for any signed-in user, cheapest first; the performer and staff see the inactive ones too.
    RETURN QUERY
    SELECT i.* FROM lp.tip_menu_items AS i
     WHERE i.performer_id = p_performer_id AND (i.is_active OR v_all)
     ORDER BY i.is_active DESC, i.price, lower(i.name);
END
$$;
COMMENT ON FUNCTION api.list_menu(uuid) IS 'A performer''s tip menu: active items, cheapest first, for any signed-in user; the performer and staff also get the inactive ones (after the active). An unknown performer has an empty menu. LP001 nobody acting.';
REVOKE ALL ON FUNCTION api.list_menu(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_menu(uuid) TO livepanty_app, livepanty_service;
