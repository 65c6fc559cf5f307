-- Undo 0038_scale_out. Refused while the ledger holds cross-shard transfers: their entries would break the
-- restored constraints (and their outbox and inbox rows are the only record of where the tokens went).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.transfers_out) OR EXISTS (SELECT 1 FROM lp.transfers_in) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard transfers exist: this database cannot go back before 0038';
    END IF;
END
$$;
SET ROLE livepanty_owner;
ALTER TABLE lp.ledger
    DROP CONSTRAINT ledger_entry_kind_check,
    ADD CONSTRAINT ledger_entry_kind_check CHECK (entry_kind IN (
        'purchase', 'refund', 'chargeback', 'write_off', 'tip', 'tip_fee', 'hold_capture',
        'hold_fee', 'payout', 'payout_return', 'payout_paid', 'adjustment', 'sweep')),
    DROP CONSTRAINT ledger_reference_type_check,
    ADD CONSTRAINT ledger_reference_type_check CHECK (reference_type IN (
        'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep', 'show'));
DROP TABLE lp.remote_users;
DROP TABLE lp.transfers_in;
DROP TABLE lp.transfers_out;
DROP TABLE lp.shard_self;
RESET ROLE;
