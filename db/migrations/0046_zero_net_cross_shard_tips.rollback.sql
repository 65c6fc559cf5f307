-- Undo 0046_zero_net_cross_shard_tips. Refused (LP204) while a row of 0 tokens exists in lp.transfers_in or
-- lp.transfers_out, or a tip of 0 net tokens waits in the outbox: the code before 0046 could neither verify
-- nor deliver them.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.transfers_in AS i WHERE i.amount = 0)
       OR EXISTS (SELECT 1 FROM lp.transfers_out AS o
                   WHERE o.amount = 0 OR (o.amount = o.fee_amount AND o.status = 'pending')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard tips of 0 net tokens exist: this database cannot go back before 0046';
    END IF;
END
$$;
SET ROLE livepanty_owner;
ALTER TABLE lp.transfers_in DROP CONSTRAINT transfers_in_check,
    ADD CONSTRAINT transfers_in_check CHECK (amount > 0 AND amount <= tip_amount);
ALTER TABLE lp.transfers_out DROP CONSTRAINT transfers_out_amount_check,
    ADD CONSTRAINT transfers_out_amount_check CHECK (amount > 0);
RESET ROLE;
