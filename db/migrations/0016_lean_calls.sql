-- 0016_lean_calls: lp.uuid_v7() without its SET clause. Frozen once landed.
-- A SQL function with a SET clause is never inlined: every call parsed and planned its body again (twice per
-- tip: the tip id and the ledger transaction id). Without it the planner inlines the expression. Every name
-- in the body is qualified with pg_catalog, and only the owner may call it (the exception docs/CONVENTIONS.md
-- allows for owner-only helpers), so the search path it runs under changes nothing.
SET ROLE livepanty_owner;
ALTER FUNCTION lp.uuid_v7() RESET search_path;
RESET ROLE;
