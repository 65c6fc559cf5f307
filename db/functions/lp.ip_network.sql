CREATE FUNCTION lp.ip_network(p_ip inet) RETURNS inet
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- 192.0.2.77 -> 192.0.2.0, 2001:db8:1:2::77 -> 2001:db8:1::
    SELECT set_masklen(network(set_masklen(p_ip, CASE family(p_ip) WHEN 4 THEN 24 ELSE 48 END)),
                       CASE family(p_ip) WHEN 4 THEN 32 ELSE 128 END)
$$;
COMMENT ON FUNCTION lp.ip_network(inet) IS 'Owner only: an address cut to its network (IPv4 /24, IPv6 /48) as a host address: what an erasure leaves of the address a consent was given from.';
REVOKE ALL ON FUNCTION lp.ip_network(inet) FROM PUBLIC;
