CREATE FUNCTION lp.show_due(p_participant lp.show_participants, p_show lp.shows, p_until timestamptz, p_mode text)
    RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- What a participant owes for their time in a show up to p_until. Nothing before their billing started
    -- (a show that never ran). A ticket: its price. Per minute, by p_mode:
    --   running: the show goes on: its completed minutes (each is captured as it completes; the one in
    --            progress is reserved ahead, shows.prepay_minutes);
    --   viewer:  the viewer ended it (left, ran out of tokens, lost their connection): every started minute,
    --            and at least the show's minimum duration for its payers (1 minute for a spy);
    --   host:    the performer ended it (stopped, went offline, was sanctioned) or an admin did: only
    --            completed minutes.
    SELECT CASE
               WHEN p_participant.billed_from IS NULL OR p_until IS NULL THEN 0
               WHEN p_participant.role = 'ticket' THEN p_participant.rate
               ELSE p_participant.rate * greatest(
                        floor(extract(epoch FROM greatest(p_until - p_participant.billed_from, interval '0')) / 60)::bigint
                        + CASE WHEN p_mode = 'viewer' THEN 1 ELSE 0 END,
                        CASE WHEN p_mode = 'viewer' AND p_participant.role = 'payer' THEN p_show.min_minutes
                             WHEN p_mode = 'viewer' THEN 1 ELSE 0 END)
           END
$$;
COMMENT ON FUNCTION lp.show_due(lp.show_participants, lp.shows, timestamptz, text) IS 'Tokens a show participant owes for their time until p_until: 0 before their billing started; a ticket''s price; per minute, by p_mode: running and host (completed minutes only), viewer (every started minute, at least the show''s minimum duration for payers and 1 minute for spies).';
REVOKE ALL ON FUNCTION lp.show_due(lp.show_participants, lp.shows, timestamptz, text) FROM PUBLIC;
