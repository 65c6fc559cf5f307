-- Upper bounds on every amount an api function accepts (api.set_setting keeps them at most 10^12 and 10^15).
-- Runs as the migrating superuser: row level security is forced on lp.settings.
INSERT INTO lp.settings (key, value, description) VALUES
    ('money.max_tokens',      '10000000000', 'Largest number of tokens any single operation may name (tip, hold, capture, adjustment either way, payout, bundle, spending limit); larger ones are refused with LP103. 10^10 tokens = 100 million USD at 100 tokens per USD. At most 10^12: amount * tips.fee_bps stays below 10^16 and a sum of 9 million maximal amounts still fits in a bigint.'),
    ('money.max_price_minor', '10000000000', 'Highest token bundle price, in minor units of its currency (api.set_bundle; LP103 above). 10^10 = 100 million USD in cents.');
