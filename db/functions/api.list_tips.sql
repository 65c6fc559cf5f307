CREATE FUNCTION api.list_tips(
    p_as      text DEFAULT 'sender',
    p_user_id uuid DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS TABLE (
    id           uuid,
    sender_id    uuid,
    recipient_id uuid,
    stream_id    uuid,
    amount       bigint,
    fee_amount   bigint,
    net_amount   bigint,
    message      text,
    is_anonymous boolean,
    status       text,
    created_at   timestamptz
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor         uuid := lp.require_user();
    v_admin         boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_user          uuid := coalesce(p_user_id, v_actor);
    v_after_created timestamptz;
BEGIN
    IF p_as IS NULL OR p_as NOT IN ('sender', 'recipient') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_as must be sender or recipient';
    END IF;
    IF v_user <> v_actor AND NOT v_admin THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may list another user''s tips';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT t.created_at INTO v_after_created FROM lp.tips AS t
         WHERE t.id = p_after AND CASE p_as WHEN 'sender' THEN t.sender_id ELSE t.recipient_id END = v_user;
        IF NOT FOUND AND p_as = 'sender' THEN
            SELECT o.created_at INTO v_after_created FROM lp.transfers_out AS o
             WHERE o.id = p_after AND o.sender_id = v_user AND o.hold_id IS NULL AND o.refund_of IS NULL;
        END IF;
        IF v_after_created IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Newest first, keyset pagination on (created_at, id): pass the last id of a page as p_after.
    -- An anonymous tip names its sender to the sender and to admins only: the recipient sees NULL.
    -- A sender's tips include those to a performer on another shard of a sharded installation (docs/scale-out.md:
    -- lp.transfers_out, completed for the sender when sent, refunded once its goal was missed on the performer's
    -- shard and the refund arrived, lp.transfers_in.refund_of); on a single node there are none.
    RETURN QUERY
        SELECT x.id,
               CASE WHEN x.is_anonymous AND x.sender_id <> v_actor AND NOT v_admin THEN NULL ELSE x.sender_id END,
               x.recipient_id, x.stream_id, x.amount, x.fee_amount, x.amount - x.fee_amount, x.message,
               x.is_anonymous, x.status, x.created_at
          FROM ((SELECT t.id, t.sender_id, t.recipient_id, t.stream_id, t.amount, t.fee_amount, t.message,
                        t.is_anonymous, t.status::text AS status, t.created_at
                   FROM lp.tips AS t
                  WHERE CASE p_as WHEN 'sender' THEN t.sender_id ELSE t.recipient_id END = v_user
                    AND (p_after IS NULL OR (t.created_at, t.id) < (v_after_created, p_after))
                  ORDER BY t.created_at DESC, t.id DESC
                  LIMIT p_limit)
                UNION ALL
                (SELECT o.id, o.sender_id, o.recipient_id, o.stream_id, o.amount, o.fee_amount, o.message,
                        o.is_anonymous,
                        CASE WHEN EXISTS (SELECT 1 FROM lp.transfers_in AS i WHERE i.refund_of = o.id)
                             THEN 'refunded' ELSE 'completed' END,
                        o.created_at
                   FROM lp.transfers_out AS o
                  WHERE p_as = 'sender' AND o.sender_id = v_user AND o.hold_id IS NULL AND o.refund_of IS NULL
                    AND (p_after IS NULL OR (o.created_at, o.id) < (v_after_created, p_after))
                  ORDER BY o.created_at DESC, o.id DESC
                  LIMIT p_limit)) AS x
         ORDER BY x.created_at DESC, x.id DESC
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_tips(text, uuid, uuid, integer) IS 'Tips the acting user sent (p_as sender) or received (p_as recipient), newest first, keyset pagination (p_after = last id of the previous page, p_limit 1..1000); admins may name any p_user_id (LP002 otherwise). The sender of an anonymous tip is NULL for everyone but the sender and admins. On a shard of a sharded installation, the sent tips include those to performers of other shards (lp.transfers_out: completed, or refunded once the refund of a missed goal arrived).';
REVOKE ALL ON FUNCTION api.list_tips(text, uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_tips(text, uuid, uuid, integer) TO livepanty_app, livepanty_service;
