-- Closed lists of values, each in one place (migration 0017): a column has the type, functions validate an
-- argument against it (lp.check_choice, which names the allowed values in its error), and the CLI lists them
-- from the catalog (`livepanty-db values`). Adding a value is `ALTER TYPE ... ADD VALUE` in a migration.
SET ROLE livepanty_owner;

CREATE TYPE lp.user_role AS ENUM ('viewer', 'performer', 'moderator', 'admin', 'compliance_officer');
COMMENT ON TYPE lp.user_role IS 'Platform role of a user (lp.users.role); compliance_officer (migration 0026) is staff who alone read identity verification records decrypted (api.kyc_record).';
CREATE TYPE lp.hold_purpose AS ENUM ('private_show', 'group_show', 'tip', 'other', 'ticket_show');
COMMENT ON TYPE lp.hold_purpose IS 'What a hold reserves tokens for (lp.holds.purpose).';
CREATE TYPE lp.hold_status AS ENUM ('open', 'captured', 'released', 'expired');
COMMENT ON TYPE lp.hold_status IS 'State of a hold (lp.holds.status).';
CREATE TYPE lp.payment_status AS ENUM ('pending', 'completed', 'failed', 'refunded', 'chargeback', 'cancelled');
COMMENT ON TYPE lp.payment_status IS 'State of a token purchase (lp.payments.status).';
CREATE TYPE lp.payout_method AS ENUM ('bank_transfer', 'paypal', 'paxum', 'wire', 'check');
COMMENT ON TYPE lp.payout_method IS 'How a payout is paid (lp.payouts.method).';
CREATE TYPE lp.payout_status AS ENUM ('requested', 'approved', 'sending', 'rejected', 'paid', 'failed', 'cancelled');
COMMENT ON TYPE lp.payout_status IS 'State of a payout (lp.payouts.status): requested -> approved -> sending (migration 0054: claimed by the payout processor right before the transfer, api.send_payout) -> paid or failed; approved may also go straight to paid or failed, requested or approved to rejected, requested to cancelled.';
CREATE TYPE lp.sanction_type AS ENUM ('warning', 'mute', 'suspension', 'ban', 'tip_block', 'stream_block',
                                      'payout_hold');
COMMENT ON TYPE lp.sanction_type IS 'Kind of sanction (lp.user_sanctions.sanction_type); what each forbids: lp.sanction_types (migration 0028 added tip_block, stream_block, payout_hold).';
CREATE TYPE lp.appeal_status AS ENUM ('pending', 'granted', 'denied', 'moot');
COMMENT ON TYPE lp.appeal_status IS 'State of an appeal against a sanction (lp.sanction_appeals.status): pending, decided (granted, denied: api.decide_appeal), or moot (migration 0053): closed undecided because its sanction was lifted while it was pending.';
CREATE TYPE lp.kyc_level AS ENUM ('age', 'identity');
COMMENT ON TYPE lp.kyc_level IS 'What an identity verification proves (lp.kyc_verifications.level).';
CREATE TYPE lp.kyc_status AS ENUM ('started', 'submitted', 'in_review', 'approved', 'declined',
                                   'resubmission_requested', 'expired', 'abandoned');
COMMENT ON TYPE lp.kyc_status IS 'State of an identity verification (lp.kyc_verifications.status), modelled on identity providers'' webhooks (migration 0026): open while started, submitted, in_review or resubmission_requested; approved, declined, expired and abandoned are terminal (an approval may only expire). Order of moves: lp.kyc_status_move.';
CREATE TYPE lp.document_type AS ENUM ('passport', 'drivers_license', 'national_id', 'residence_permit');
COMMENT ON TYPE lp.document_type IS 'Identity document of a verification (lp.kyc_verifications.document_type).';
CREATE TYPE lp.limit_period AS ENUM ('daily', 'weekly', 'monthly');
COMMENT ON TYPE lp.limit_period IS 'Period of a spending limit (lp.spending_limits.period).';
CREATE TYPE lp.ui_theme AS ENUM ('light', 'dark', 'system');
COMMENT ON TYPE lp.ui_theme IS 'Theme preference (lp.user_preferences.theme).';
CREATE TYPE lp.content_filter AS ENUM ('strict', 'standard', 'off');
COMMENT ON TYPE lp.content_filter IS 'Content filter preference (lp.user_preferences.content_filter).';

CREATE TYPE lp.stream_status AS ENUM ('scheduled', 'live', 'ended', 'cancelled');
COMMENT ON TYPE lp.stream_status IS 'State of a stream (lp.streams.status): scheduled -> live -> ended, or cancelled before going live.';
CREATE TYPE lp.stream_visibility AS ENUM ('public', 'private', 'group');
COMMENT ON TYPE lp.stream_visibility IS 'Who may watch a stream (lp.streams.visibility).';

CREATE TYPE lp.leaderboard_period AS ENUM ('day', 'week', 'month', 'all');
COMMENT ON TYPE lp.leaderboard_period IS 'The period of a performer''s leaderboard: the last day, 7 days, 30 days, or all time.';

RESET ROLE;
