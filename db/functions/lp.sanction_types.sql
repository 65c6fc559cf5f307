CREATE FUNCTION lp.sanction_types(VARIADIC p_actions text[]) RETURNS lp.sanction_type[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    v_action text;
    v_types  lp.sanction_type[] := ARRAY[]::lp.sanction_type[];
BEGIN
    -- What each sanction type forbids, written once: a suspension or a ban forbids every action; each
    -- restricting type forbids its own. A warning forbids nothing.
    FOREACH v_action IN ARRAY coalesce(p_actions, ARRAY[NULL::text]) LOOP
        v_types := v_types || CASE v_action
            WHEN 'login'   THEN ARRAY[]::lp.sanction_type[]
            WHEN 'stream'  THEN ARRAY['stream_block']::lp.sanction_type[]
            WHEN 'tip'     THEN ARRAY['tip_block']::lp.sanction_type[]
            WHEN 'hold'    THEN ARRAY['tip_block']::lp.sanction_type[]
            WHEN 'payout'  THEN ARRAY['payout_hold']::lp.sanction_type[]
            WHEN 'message' THEN ARRAY['mute']::lp.sanction_type[]
        END;
        IF v_action IS NULL OR NOT v_action = ANY (ARRAY['login', 'stream', 'tip', 'hold', 'payout', 'message']) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('unknown sanctioned action %L', v_action),
                HINT = 'One of login, stream, tip, hold, payout, message.';
        END IF;
    END LOOP;
    RETURN ARRAY['suspension', 'ban']::lp.sanction_type[] || v_types;
END
$$;
COMMENT ON FUNCTION lp.sanction_types(text[]) IS 'The sanction types that forbid any of the given actions (the one table of what each type forbids): login (using the account at all: suspension, ban), stream (going or staying live: + stream_block), tip (+ tip_block), hold (reserving tokens for a performer: + tip_block), payout (being paid out: + payout_hold), message (a tip message or other chat-like text: + mute). A warning forbids nothing. LP199 for an unknown action (a bug in the caller). Owner only.';
REVOKE ALL ON FUNCTION lp.sanction_types(text[]) FROM PUBLIC;
