-- Undo 0016_lean_calls.
SET ROLE livepanty_owner;
ALTER FUNCTION lp.uuid_v7() SET search_path = '';
RESET ROLE;
