CREATE FUNCTION lp.check_stream_fields(p_category text, p_tags text[], p_visibility text, p_scheduled_at timestamptz)
    RETURNS text[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_tags text[];
BEGIN
    -- The rules of a stream's descriptive fields, shared by api.schedule_stream and api.update_stream (a NULL
    -- argument is not checked: update leaves that field as it is). Returns the tags lower-cased, trimmed,
    -- without duplicates, in their first order.
    IF p_category IS NOT NULL AND p_category !~ '^[a-z][a-z0-9_-]{1,31}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = format('invalid category %L', left(p_category, 50)),
            HINT = '2 to 32 characters: lower-case letters, digits, _ and -, starting with a letter.';
    END IF;
    IF p_tags IS NOT NULL THEN
        SELECT coalesce(array_agg(t.tag ORDER BY t.first), ARRAY[]::text[]) INTO v_tags
          FROM (SELECT lower(btrim(x.tag)) AS tag, min(x.n) AS first
                  FROM unnest(p_tags) WITH ORDINALITY AS x (tag, n)
                 GROUP BY lower(btrim(x.tag))) AS t;
        IF cardinality(v_tags) > 20 OR EXISTS (SELECT 1 FROM unnest(v_tags) AS t (tag)
                                                 WHERE t.tag IS NULL OR t.tag !~ '^[a-z0-9][a-z0-9_-]{0,31}$') THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'invalid tags',
                HINT = 'At most 20 tags of 1 to 32 characters: letters, digits, _ and -.';
        END IF;
    END IF;
    IF p_visibility IS NOT NULL THEN
        PERFORM lp.check_choice(p_visibility, 'lp.stream_visibility', 'visibility');
    END IF;
    IF p_scheduled_at IS NOT NULL AND p_scheduled_at < now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'scheduled_at is in the past';
    END IF;
    RETURN v_tags;
END
$$;
COMMENT ON FUNCTION lp.check_stream_fields(text, text[], text, timestamptz) IS 'LP018 unless the category (2..32 of a-z 0-9 _ -), the tags (at most 20, each 1..32 of a-z 0-9 _ -, compared lower-cased), the visibility (lp.stream_visibility) and the scheduled time (not in the past) are valid; NULL arguments are not checked. Returns the tags normalised (lower-cased, trimmed, duplicates dropped).';
REVOKE ALL ON FUNCTION lp.check_stream_fields(text, text[], text, timestamptz) FROM PUBLIC;
