-- Undo 0047_remote_gates (the rows are copies of what other shards say, asked again before every use).
SET ROLE livepanty_owner;
DROP TABLE lp.remote_gates;
RESET ROLE;
