-- Undo 0051_gate_reasons_name_nobody: nothing to undo in the schema, and the data cannot be restored: the old
-- reasons ('go-live gate: <username>: <what they lack>') are not written back into the streams, their events and
-- their audit rows (the older functions, applied again by the rollback, write them so for streams they end).
SELECT 1;
