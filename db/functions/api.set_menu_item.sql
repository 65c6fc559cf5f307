CREATE FUNCTION api.set_menu_item(
    p_name      text,
    p_price     bigint,
    p_item_id   uuid DEFAULT NULL,
    p_is_active boolean DEFAULT true
) RETURNS lp.tip_menu_items
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_performer uuid := lp.require_user('performer');
    v_name      text := lp.check_text(p_name, 'name', 80, true);
    v_item      lp.tip_menu_items;
    v_old       lp.tip_menu_items;
BEGIN
    -- The price is a tip's amount: within tips.min_tokens..tips.max_tokens (and money.max_tokens).
    PERFORM lp.check_tokens(p_price, 'price');
    IF p_price < (lp.setting('tips.min_tokens'))::bigint OR p_price > (lp.setting('tips.max_tokens'))::bigint THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'price out of range',
            DETAIL = format('between %s and %s tokens (the tip bounds)', lp.setting('tips.min_tokens'), lp.setting('tips.max_tokens'));
    END IF;
    IF p_is_active IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_is_active is true or false';
    END IF;
    IF p_item_id IS NOT NULL THEN
        SELECT i.* INTO v_old FROM lp.tip_menu_items AS i
         WHERE i.id = p_item_id AND i.performer_id = v_performer
           FOR NO KEY UPDATE;
        IF v_old.id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'menu item not found';
        END IF;
    END IF;
    -- At most menus.max_items active items: the performer's items are counted under the lock of their user row.
    IF p_is_active AND NOT coalesce(v_old.is_active, false) THEN
        PERFORM 1 FROM lp.users AS u WHERE u.id = v_performer FOR NO KEY UPDATE;
        IF (SELECT count(*) FROM lp.tip_menu_items AS i WHERE i.performer_id = v_performer AND i.is_active)
           >= (lp.setting('menus.max_items'))::integer THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the menu is full',
                DETAIL = format('at most %s active items (menus.max_items)', lp.setting('menus.max_items'));
        END IF;
    END IF;
    BEGIN
        IF v_old.id IS NULL THEN
            INSERT INTO lp.tip_menu_items (performer_id, name, price, is_active)
            VALUES (v_performer, v_name, p_price, p_is_active)
            RETURNING * INTO v_item;
        ELSE
            UPDATE lp.tip_menu_items AS i SET name = v_name, price = p_price, is_active = p_is_active, updated_at = now()
             WHERE i.id = v_old.id
            RETURNING * INTO v_item;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the menu already has an item of that name',
            DETAIL = v_name;
    END;
    PERFORM lp.audit('menu.set', 'tip_menu_item', v_item.id::text,
                     jsonb_build_object('name', v_item.name, 'price', v_item.price, 'active', v_item.is_active,
                                        'old_price', v_old.price));
    RETURN v_item;
END
$$;
COMMENT ON FUNCTION api.set_menu_item(text, bigint, uuid, boolean) IS 'The acting performer adds an item to their tip menu (p_item_id NULL) or changes one of theirs: name (1..80 characters, unique per menu regardless of case), price in tokens (within the tip bounds: LP103), active flag (inactive items cannot be bought; items are never deleted). At most menus.max_items active items. LP002 not a performer, LP003 not their item, LP018 bad name, duplicate name or full menu. Audited (menu.set, with the old price).';
REVOKE ALL ON FUNCTION api.set_menu_item(text, bigint, uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_menu_item(text, bigint, uuid, boolean) TO livepanty_app, livepanty_service;
