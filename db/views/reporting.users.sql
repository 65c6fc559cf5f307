DROP VIEW IF EXISTS reporting.users CASCADE;
CREATE VIEW reporting.users WITH (security_invoker = false) AS
SELECT lp.pseudonym(u.id::text, k.key) AS id,
       u.role,
       CASE WHEN a.years < 18 THEN 'under 18'
            WHEN a.years < 25 THEN '18-24'
            WHEN a.years < 35 THEN '25-34'
            WHEN a.years < 45 THEN '35-44'
            WHEN a.years < 55 THEN '45-54'
            WHEN a.years < 65 THEN '55-64'
            WHEN a.years >= 65 THEN '65+' END AS age_band,  -- NULL: no date of birth
       (u.created_at AT TIME ZONE 'UTC')::date AS created_on,
       (u.last_login_at AT TIME ZONE 'UTC')::date AS last_login_on,
       u.deleted_at IS NOT NULL AS is_deleted
  FROM lp.users AS u
  -- 1900-01-01, the lowest date of birth lp.users allows, stands for none: lp.erase_personal_data writes it over an
  -- erased user's, and a shard over a stub's of a user of another shard (shard.make_stub); registration refuses it
  -- (lp.create_user, LP014; a user who gave it before that has no age band either: it was no real date).
  CROSS JOIN LATERAL (SELECT date_part('year', age(current_date, nullif(u.date_of_birth, DATE '1900-01-01')))::integer
                      AS years) AS a
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.users IS 'Every user (deleted ones too, is_deleted) by pseudonym: platform role, age band (from the date of birth, as of today; NULL for an erased user, whose date of birth is erased, and for a stub of another shard''s user), the UTC dates of sign-up and last login. No e-mail, username, display name, date of birth, country, bio or avatar. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.users TO livepanty_readonly;
