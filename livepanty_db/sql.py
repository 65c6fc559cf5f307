"""Every SQL statement the Python client and the operator CLI send, in one place.

Functions are called with named arguments (``p_email => %(email)s``) so a reordered or added SQL argument
cannot silently shift values. Each argument carries an explicit cast: the right overload is chosen whatever
Python type the caller passes (a ``str`` uuid, a ``date`` or an ISO string), and a malformed value fails in
PostgreSQL with a class-22 SQLSTATE (``InvalidArgument``) instead of a confusing "function does not exist".

Money calls with an idempotency key add one column, ``replayed``: true when the function answered from the
key (it names itself and the key in the transaction-local setting ``livepanty.replayed``, read in the same
statement after the call; lp.note_replay), false for a call that did the work.

Business rules live in the SQL API (db/functions); nothing here decides anything. The one direct table read,
:data:`RESOLVE_LOGIN`, serves the operator CLI (a DBA connection) to turn ``--as LOGIN`` into a user id.
"""

from __future__ import annotations

from psycopg import sql

# --- transaction context ------------------------------------------------------------------------------------

#: ``SET LOCAL ROLE <role>``: act as an application role (RLS in force) for one transaction.
SET_LOCAL_ROLE = sql.SQL("SET LOCAL ROLE {role}")

#: Back office: make a platform user the acting user for the rest of the transaction, audited with a reason
#: (conventions: "Who is acting"). Runs under livepanty_service: ``SET LOCAL ROLE`` to it first.
ACT_AS = "SELECT * FROM api.act_as(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"
#: The back-office role that may call api.act_as.
SERVICE_ROLE = "livepanty_service"
#: ``SET LOCAL ROLE NONE``: back to the connection's own login role for the rest of the transaction.
RESET_LOCAL_ROLE = "SET LOCAL ROLE NONE"

# --- identity and sessions ----------------------------------------------------------------------------------

REGISTER_USER = """
SELECT * FROM api.register_user(
    p_email         => %(email)s::text,
    p_username      => %(username)s::text,
    p_password      => %(password)s::text,
    p_date_of_birth => %(date_of_birth)s::date,
    p_role          => %(role)s::text,
    p_display_name  => %(display_name)s::text,
    p_country_code  => %(country_code)s::text,
    p_ip_address    => %(ip_address)s::inet)
"""

CREATE_ADMIN = """
SELECT * FROM api.create_admin(
    p_email         => %(email)s::text,
    p_username      => %(username)s::text,
    p_password      => %(password)s::text,
    p_date_of_birth => %(date_of_birth)s::date,
    p_display_name  => %(display_name)s::text)
"""

LOGIN = """
SELECT * FROM api.login(
    p_login       => %(login)s::text,
    p_password    => %(password)s::text,
    p_ip_address  => %(ip_address)s::inet,
    p_user_agent  => %(user_agent)s::text,
    p_device_info => %(device_info)s::jsonb,
    p_ttl         => %(ttl)s::interval)
"""

AUTHENTICATE = "SELECT * FROM api.authenticate(p_token => %(token)s::text)"

CURRENT_USER_ID = "SELECT api.current_user_id()"

LIST_SESSIONS = """
SELECT * FROM api.list_sessions(
    p_user_id       => %(user_id)s::uuid,
    p_include_ended => %(include_ended)s::boolean)
"""

REVOKE_SESSION = "SELECT * FROM api.revoke_session(p_session_id => %(session_id)s::uuid)"

REVOKE_ALL_SESSIONS = """
SELECT api.revoke_all_sessions(
    p_user_id      => %(user_id)s::uuid,
    p_keep_current => %(keep_current)s::boolean)
"""

CHANGE_PASSWORD = """
SELECT * FROM api.change_password(
    p_current_password => %(current_password)s::text,
    p_new_password     => %(new_password)s::text,
    p_ip_address       => %(ip_address)s::inet)
"""  # noqa: S105 (SQL text, not a password)

REQUEST_PASSWORD_RESET = """
SELECT api.request_password_reset(
    p_email      => %(email)s::text,
    p_ip_address => %(ip_address)s::inet)
"""  # noqa: S105 (SQL text, not a password)

RESET_PASSWORD = """
SELECT api.reset_password(
    p_token        => %(token)s::text,
    p_new_password => %(new_password)s::text,
    p_ip_address   => %(ip_address)s::inet)
"""  # noqa: S105 (SQL text, not a password)

# --- preferences --------------------------------------------------------------------------------------------

GET_PREFERENCES = "SELECT * FROM api.get_preferences()"

UPDATE_PREFERENCES = """
SELECT * FROM api.update_preferences(
    p_language            => %(language)s::text,
    p_timezone            => %(timezone)s::text,
    p_theme               => %(theme)s::text,
    p_email_notifications => %(email_notifications)s::boolean,
    p_push_notifications  => %(push_notifications)s::boolean,
    p_tip_notifications   => %(tip_notifications)s::boolean,
    p_marketing_emails    => %(marketing_emails)s::boolean,
    p_show_online_status  => %(show_online_status)s::boolean,
    p_content_filter      => %(content_filter)s::text)
"""

# --- users (staff) ------------------------------------------------------------------------------------------

GET_USER = "SELECT * FROM api.get_user(p_user_id => %(user_id)s::uuid)"

FIND_USER = "SELECT * FROM api.find_user(p_login => %(login)s::text)"

LIST_USERS = """
SELECT * FROM api.list_users(
    p_role            => %(role)s::text,
    p_after           => %(after)s::uuid,
    p_limit           => %(limit)s::integer,
    p_include_deleted => %(include_deleted)s::boolean)
"""

SET_USER_ROLE = "SELECT * FROM api.set_user_role(p_user_id => %(user_id)s::uuid, p_role => %(role)s::text)"

DELETE_USER = "SELECT * FROM api.delete_user(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"

UNLOCK_USER = "SELECT * FROM api.unlock_user(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"

UNLOCK_USER = "SELECT * FROM api.unlock_user(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"

# --- privacy: erasure and retention -------------------------------------------------------------------------
REQUEST_ERASURE = "SELECT * FROM api.request_erasure(p_reason => %(reason)s::text)"
ERASE_USER = "SELECT * FROM api.erase_user(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"
LIST_ERASURES = "SELECT * FROM api.list_erasures(p_after => %(after)s::uuid, p_limit => %(limit)s::integer)"
REPLAY_ERASURE = "SELECT * FROM api.replay_erasure(p_entry => %(entry)s::jsonb)"
PURGE_PERSONAL_DATA = (
    "SELECT api.purge_personal_data(p_category => %(category)s::text, p_limit => %(limit)s::integer)"
)

# --- moderation ---------------------------------------------------------------------------------------------

SANCTION_USER = """
SELECT * FROM api.sanction_user(
    p_user_id   => %(user_id)s::uuid,
    p_type      => %(type)s::text,
    p_reason    => %(reason)s::text,
    p_ends_at   => %(ends_at)s::timestamptz,
    p_report_id => %(report_id)s::uuid,
    p_review_on_expiry => %(review_on_expiry)s::boolean)
"""

REVOKE_SANCTION = """
SELECT * FROM api.revoke_sanction(
    p_sanction_id => %(sanction_id)s::uuid,
    p_reason      => %(reason)s::text)
"""

MY_SANCTIONS = "SELECT * FROM api.my_sanctions(p_include_past => %(include_past)s::boolean)"

EXPIRE_SANCTIONS = "SELECT api.expire_sanctions(p_limit => %(limit)s::integer)"

# --- moderation: appeals ------------------------------------------------------------------------------------

APPEAL_SANCTION = """
SELECT * FROM api.appeal_sanction(
    p_sanction_id => %(sanction_id)s::uuid,
    p_statement   => %(statement)s::text)
"""

DECIDE_APPEAL = """
SELECT * FROM api.decide_appeal(
    p_appeal_id => %(appeal_id)s::uuid,
    p_granted   => %(granted)s::boolean,
    p_reasons   => %(reasons)s::text)
"""

LIST_APPEALS = "SELECT * FROM api.list_appeals(p_status => %(status)s::text, p_limit => %(limit)s::integer)"

# --- moderation: the review queue (reports and automated flags) ---------------------------------------------

REPORT = """
SELECT * FROM api.report(
    p_target_type => %(target_type)s::text,
    p_target_id   => %(target_id)s::uuid,
    p_reason      => %(reason)s::text,
    p_description => %(description)s::text)
"""

CLAIM_CASE = "SELECT * FROM api.claim_case()"

EXTEND_CASE_CLAIM = "SELECT * FROM api.extend_case_claim(p_case_id => %(case_id)s::uuid)"

RELEASE_CASE = "SELECT * FROM api.release_case(p_case_id => %(case_id)s::uuid)"

RESOLVE_CASE = """
SELECT * FROM api.resolve_case(
    p_case_id          => %(case_id)s::uuid,
    p_action           => %(action)s::text,
    p_facts            => %(facts)s::text,
    p_rule             => %(rule)s::text,
    p_sanction_type    => %(sanction_type)s::text,
    p_sanction_ends_at => %(sanction_ends_at)s::timestamptz)
"""

REVIEW_QUEUE = """
SELECT * FROM api.review_queue(
    p_status       => %(status)s::text,
    p_overdue_only => %(overdue_only)s::boolean,
    p_reason       => %(reason)s::text,
    p_source       => %(source)s::text,
    p_after        => %(after)s::uuid,
    p_limit        => %(limit)s::integer)
"""

MY_CASE_DECISIONS = "SELECT * FROM api.my_case_decisions(p_limit => %(limit)s::integer)"

ESCALATE_CASES = "SELECT api.escalate_cases(p_limit => %(limit)s::integer)"

RAISE_FLAG = """
SELECT * FROM api.raise_flag(
    p_detector     => %(detector)s::text,
    p_category     => %(category)s::text,
    p_confidence   => %(confidence)s::numeric,
    p_content_type => %(content_type)s::text,
    p_content_ref  => %(content_ref)s::text,
    p_stream_id    => %(stream_id)s::uuid,
    p_user_id      => %(user_id)s::uuid,
    p_details      => %(details)s::jsonb)
"""

DETECTOR_PRECISION = "SELECT * FROM api.detector_precision()"

# --- settings -----------------------------------------------------------------------------------------------

LIST_SETTINGS = "SELECT * FROM api.list_settings()"

SET_SETTING = "SELECT * FROM api.set_setting(p_key => %(key)s::text, p_value => %(value)s::jsonb)"

# --- public reads -------------------------------------------------------------------------------------------

PUBLIC_PROFILE = "SELECT * FROM api.public_profile(p_user_id => %(user_id)s::uuid)"

STREAM_STATS = "SELECT * FROM api.stream_stats(p_stream_id => %(stream_id)s::uuid)"

USER_SUMMARY = """
SELECT id, username, email, display_name, role, created_at, last_login_at, balance, reserved, available,
       currency, tokens_per_unit, kyc_status, kyc_reviewed_at, active_sanction, sanction_ends_at, sanctions,
       open_cases, kyc_valid_until, kyc_gate
  FROM api.user_summary
 ORDER BY created_at, id
"""

STREAM_SUMMARY = """
SELECT id, host_id, host_username, host_display_name, title, category, tags, status, visibility, is_mature,
       scheduled_at, started_at, ended_at, duration, current_viewers, unique_viewers, peak_viewers,
       watch_seconds, tip_count, tokens_tipped, deleted_at
  FROM api.stream_summary
 ORDER BY coalesce(started_at, scheduled_at) DESC NULLS LAST, id
"""

# --- token economy: tips -----------------------------------------------------------------------------------

TIP_MANY = "SELECT * FROM api.tip_many(p_tips => %(tips)s::jsonb)"

TIP = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.tip:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.tip(
    p_recipient_id    => %(recipient_id)s::uuid,
    p_amount          => %(amount)s::bigint,
    p_idempotency_key => %(idempotency_key)s::text,
    p_stream_id       => %(stream_id)s::uuid,
    p_message         => %(message)s::text,
    p_is_anonymous    => %(is_anonymous)s::boolean,
    p_menu_item_id    => %(menu_item_id)s::uuid) AS r
"""

LIST_TIPS = """
SELECT * FROM api.list_tips(
    p_as      => %(as)s::text,
    p_user_id => %(user_id)s::uuid,
    p_after   => %(after)s::uuid,
    p_limit   => %(limit)s::integer)
"""

# --- token economy: holds -----------------------------------------------------------------------------------

PLACE_HOLD = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.place_hold:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.place_hold(
    p_payee_id        => %(payee_id)s::uuid,
    p_amount          => %(amount)s::bigint,
    p_idempotency_key => %(idempotency_key)s::text,
    p_purpose         => %(purpose)s::text,
    p_expires_in      => %(expires_in)s::interval,
    p_stream_id       => %(stream_id)s::uuid) AS r
"""

CAPTURE_HOLD = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.capture_hold:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.capture_hold(
    p_hold_id         => %(hold_id)s::uuid,
    p_amount          => %(amount)s::bigint,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

RELEASE_HOLD = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.release_hold:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.release_hold(
    p_hold_id         => %(hold_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

GET_HOLD = "SELECT * FROM api.get_hold(p_hold_id => %(hold_id)s::uuid)"

LIST_HOLDS = """
SELECT * FROM api.list_holds(
    p_as     => %(as)s::text,
    p_status => %(status)s::text,
    p_after  => %(after)s::uuid,
    p_limit  => %(limit)s::integer)
"""

EXPIRE_HOLDS = "SELECT api.expire_holds(p_limit => %(limit)s::integer)"

# --- token economy: spending limits -------------------------------------------------------------------------

SET_SPENDING_LIMIT = """
SELECT * FROM api.set_spending_limit(
    p_period       => %(period)s::text,
    p_limit_tokens => %(limit_tokens)s::bigint)
"""

GET_SPENDING_LIMITS = "SELECT * FROM api.get_spending_limits()"

# --- fraud controls on money --------------------------------------------------------------------------------

GET_FRAUD_LIMITS = "SELECT * FROM api.get_fraud_limits(p_user_id => %(user_id)s::uuid)"

# --- token economy: bundles and payments --------------------------------------------------------------------

LIST_BUNDLES = "SELECT * FROM api.list_bundles()"

SET_BUNDLE = """
SELECT * FROM api.set_bundle(
    p_code        => %(code)s::text,
    p_tokens      => %(tokens)s::bigint,
    p_price_minor => %(price_minor)s::bigint,
    p_currency    => %(currency)s::text,
    p_active      => %(active)s::boolean)
"""

CREATE_PAYMENT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.create_payment:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.create_payment(
    p_bundle_code     => %(bundle_code)s::text,
    p_provider        => %(provider)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

COMPLETE_PAYMENT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.complete_payment:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.complete_payment(
    p_payment_id         => %(payment_id)s::uuid,
    p_provider_reference => %(provider_reference)s::text,
    p_idempotency_key    => %(idempotency_key)s::text) AS r
"""

FAIL_PAYMENT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.fail_payment:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.fail_payment(
    p_payment_id      => %(payment_id)s::uuid,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

REFUND_PAYMENT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.refund_payment:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.refund_payment(
    p_payment_id      => %(payment_id)s::uuid,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

CHARGEBACK_PAYMENT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.chargeback_payment:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.chargeback_payment(
    p_payment_id      => %(payment_id)s::uuid,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

GET_PAYMENT = "SELECT * FROM api.get_payment(p_payment_id => %(payment_id)s::uuid)"

LIST_PAYMENTS = """
SELECT * FROM api.list_payments(
    p_user_id => %(user_id)s::uuid,
    p_status  => %(status)s::text,
    p_after   => %(after)s::uuid,
    p_limit   => %(limit)s::integer)
"""

# --- token economy: adjustments -----------------------------------------------------------------------------

ADJUST_BALANCE = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.adjust_balance:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.adjust_balance(
    p_user_id         => %(user_id)s::uuid,
    p_amount          => %(amount)s::bigint,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

# --- token economy: identity verification (KYC) -------------------------------------------------------------

SUBMIT_KYC = """
SELECT * FROM api.submit_kyc(
    p_level              => %(level)s::text,
    p_document_type      => %(document_type)s::text,
    p_document_country   => %(document_country)s::text,
    p_document_front_url => %(document_front_url)s::text,
    p_document_back_url  => %(document_back_url)s::text,
    p_selfie_url         => %(selfie_url)s::text,
    p_provider           => %(provider)s::text,
    p_provider_reference => %(provider_reference)s::text,
    p_legal_name         => %(legal_name)s::text,
    p_aliases            => %(aliases)s::text[])
"""

APPROVE_KYC = """
SELECT * FROM api.approve_kyc(
    p_verification_id        => %(verification_id)s::uuid,
    p_expires_at             => %(expires_at)s::timestamptz,
    p_verified_date_of_birth => %(verified_date_of_birth)s::date)
"""

REJECT_KYC = """
SELECT * FROM api.reject_kyc(
    p_verification_id        => %(verification_id)s::uuid,
    p_reason                 => %(reason)s::text,
    p_verified_date_of_birth => %(verified_date_of_birth)s::date)
"""

GET_KYC_STATUS = "SELECT * FROM api.get_kyc_status(p_user_id => %(user_id)s::uuid)"

LIST_PENDING_KYC = """
SELECT * FROM api.list_pending_kyc(
    p_after => %(after)s::uuid,
    p_limit => %(limit)s::integer)
"""
EXPIRE_KYC_APPROVALS = "SELECT api.expire_kyc_approvals(p_limit => %(limit)s::integer)"

APPLY_KYC_WEBHOOK = """
SELECT * FROM api.apply_kyc_webhook(
    p_provider               => %(provider)s::text,
    p_event_id               => %(event_id)s::text,
    p_provider_reference     => %(provider_reference)s::text,
    p_status                 => %(status)s::text,
    p_score                  => %(score)s::numeric,
    p_reasons                => %(reasons)s::text[],
    p_document_expires_on    => %(document_expires_on)s::date,
    p_verified_date_of_birth => %(verified_date_of_birth)s::date,
    p_occurred_at            => %(occurred_at)s::timestamptz)
"""

OVERRIDE_KYC_DECISION = """
SELECT * FROM api.override_kyc_decision(
    p_verification_id => %(verification_id)s::uuid,
    p_status          => %(status)s::text,
    p_reason          => %(reason)s::text)
"""

ALLOW_KYC_RETRY = "SELECT api.allow_kyc_retry(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"

KYC_RECORD = "SELECT * FROM api.kyc_record(p_verification_id => %(verification_id)s::uuid)"

# --- token economy: payouts ---------------------------------------------------------------------------------

REQUEST_PAYOUT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.request_payout:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.request_payout(
    p_tokens          => %(tokens)s::bigint,
    p_method          => %(method)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

APPROVE_PAYOUT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.approve_payout:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.approve_payout(
    p_payout_id       => %(payout_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

REJECT_PAYOUT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.reject_payout:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.reject_payout(
    p_payout_id       => %(payout_id)s::uuid,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

SEND_PAYOUT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.send_payout:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.send_payout(
    p_payout_id       => %(payout_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

MARK_PAYOUT_PAID = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.mark_payout_paid:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.mark_payout_paid(
    p_payout_id          => %(payout_id)s::uuid,
    p_provider_reference => %(provider_reference)s::text,
    p_idempotency_key    => %(idempotency_key)s::text) AS r
"""

MARK_PAYOUT_FAILED = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.mark_payout_failed:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.mark_payout_failed(
    p_payout_id       => %(payout_id)s::uuid,
    p_reason          => %(reason)s::text,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

CANCEL_PAYOUT = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.cancel_payout:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.cancel_payout(
    p_payout_id       => %(payout_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""

LIST_PAYOUTS = """
SELECT * FROM api.list_payouts(
    p_user_id => %(user_id)s::uuid,
    p_status  => %(status)s::text,
    p_after   => %(after)s::uuid,
    p_limit   => %(limit)s::integer)
"""

EARNINGS_SUMMARY = """
SELECT * FROM api.earnings_summary(
    p_user_id => %(user_id)s::uuid,
    p_from    => %(from)s::timestamptz,
    p_to      => %(to)s::timestamptz)
"""

# --- token economy: wallets and ledger ----------------------------------------------------------------------

GET_WALLET = "SELECT * FROM api.get_wallet(p_user_id => %(user_id)s::uuid)"

WALLET_HISTORY = """
SELECT * FROM api.wallet_history(
    p_user_id   => %(user_id)s::uuid,
    p_before_id => %(before_id)s::bigint,
    p_limit     => %(limit)s::integer)
"""

BALANCE_AT = "SELECT api.balance_at(p_user_id => %(user_id)s::uuid, p_at => %(at)s::timestamptz)"

SWEEP_WALLETS = "SELECT api.sweep_wallets(p_limit => %(limit)s::integer)"
ARCHIVE_PREPARE = "SELECT * FROM api.archive_prepare(p_before => %(before)s::timestamptz)"
PARTITION_ROWS = "SELECT * FROM api.partition_rows(p_partition => %(partition)s::text)"
ARCHIVE_DETACH = (
    "SELECT api.archive_detach(p_partition => %(partition)s::text, p_boundary => %(boundary)s::timestamptz,"
    " p_file_name => %(file_name)s::text, p_file_sha256 => %(file_sha256)s::text,"
    " p_row_count => %(row_count)s::bigint, p_content_sha256 => %(content_sha256)s::text)"
)
RESTORE_PARTITION = (
    "SELECT api.restore_partition(p_archive_id => %(archive_id)s::uuid, p_rows => %(rows)s::text[])"
)
LIST_ARCHIVES = "SELECT * FROM api.list_archives()"
MAINTAIN_PARTITIONS = "SELECT * FROM api.maintain_partitions(p_months_ahead => %(months_ahead)s::integer)"

VERIFY_LEDGER = """
SELECT * FROM api.verify_ledger(
    p_wallet_from => %(wallet_from)s::uuid,
    p_wallet_to   => %(wallet_to)s::uuid,
    p_global      => %(global)s::boolean,
    p_transactions => %(transactions)s::boolean)
"""

VERIFY_LEDGER_PERIOD = """
SELECT * FROM api.verify_ledger_period(
    p_period_from => %(period_from)s::timestamptz,
    p_period_to   => %(period_to)s::timestamptz)
"""

LEDGER_PERIODS = "SELECT * FROM api.ledger_periods(p_chunk_entries => %(chunk_entries)s::integer)"

LEDGER_TOTALS = "SELECT * FROM api.ledger_totals()"

LEDGER_STATS = "SELECT * FROM api.ledger_stats(p_chunk_wallets => %(chunk_wallets)s::integer)"

RECORD_VERIFY_RUN = """
SELECT api.record_verify_run(
    p_started_at => %(started_at)s::timestamptz,
    p_entries    => %(entries)s::bigint,
    p_violations => %(violations)s::integer,
    p_checks     => %(checks)s::text[]
)
"""

# --- monitoring ---------------------------------------------------------------------------------------------

RECORD_METRICS_SAMPLE = "SELECT api.record_metrics_sample()"

# --- the mailer (livepanty_mailer): outgoing e-mails -------------------------------------------------------

CLAIM_MESSAGES = """
SELECT * FROM api.claim_messages(
    p_limit => %(limit)s::integer,
    p_lease => %(lease)s::interval)
"""

MARK_MESSAGE_SENT = """
SELECT api.mark_message_sent(
    p_message_id         => %(message_id)s::uuid,
    p_attempt            => %(attempt)s::integer,
    p_provider_reference => %(provider_reference)s::text)
"""

MARK_MESSAGE_FAILED = """
SELECT api.mark_message_failed(
    p_message_id => %(message_id)s::uuid,
    p_attempt    => %(attempt)s::integer,
    p_error      => %(error)s::text,
    p_permanent  => %(permanent)s::boolean)
"""

# --- operator CLI -------------------------------------------------------------------------------------------

#: The id of the active (not deleted) user whose id, username or e-mail is given (names case-insensitively).
#: Read-only and used only by the operator CLI on a DBA connection to resolve ``--as LOGIN``; everything the
#: CLI then does goes through the api functions acting as that user. Usernames cannot contain '-', so a uuid
#: never matches a username.
RESOLVE_LOGIN = """
SELECT u.id
  FROM lp.users AS u
 WHERE (u.id = %(user_id)s::uuid
        OR u.username OPERATOR(ext.=) %(login)s::ext.citext
        OR u.email OPERATOR(ext.=) %(login)s::ext.citext)
   AND u.deleted_at IS NULL
"""
#: Whether the database is the router of a sharded installation (docs/scale-out.md): its users live on the
#: shards, and the directory (router.users) finds them.
IS_ROUTER = "SELECT to_regclass('router.users') IS NOT NULL"
#: :data:`RESOLVE_LOGIN` on a router: the directory by id, lower-case username or the SHA-256 of the
#: lower-case address (as the router's api.login finds a user). An erased user's entry carries no login; a
#: deleted one the home shard refuses when the command acts or reads.
RESOLVE_LOGIN_ROUTER = """
SELECT u.user_id
  FROM router.users AS u
 WHERE u.user_id = %(user_id)s::uuid
    OR u.username_key = lower(btrim(%(login)s::text))
    OR u.email_key = sha256(convert_to(lower(btrim(%(login)s::text)), 'UTF8'))
"""

# --- streams ------------------------------------------------------------------------------------------------

SCHEDULE_STREAM = """
SELECT * FROM api.schedule_stream(
    p_title        => %(title)s::text,
    p_category     => %(category)s::text,
    p_tags         => %(tags)s::text[],
    p_visibility   => %(visibility)s::text,
    p_is_mature    => %(is_mature)s::boolean,
    p_scheduled_at => %(scheduled_at)s::timestamptz,
    p_description  => %(description)s::text)
"""
UPDATE_STREAM = """
SELECT * FROM api.update_stream(
    p_stream_id    => %(stream_id)s::uuid,
    p_title        => %(title)s::text,
    p_category     => %(category)s::text,
    p_tags         => %(tags)s::text[],
    p_visibility   => %(visibility)s::text,
    p_is_mature    => %(is_mature)s::boolean,
    p_scheduled_at => %(scheduled_at)s::timestamptz,
    p_description  => %(description)s::text)
"""
ADD_STREAM_PERFORMER = """
SELECT * FROM api.add_stream_performer(
    p_stream_id    => %(stream_id)s::uuid,
    p_performer_id => %(performer_id)s::uuid)
"""
REMOVE_STREAM_PERFORMER = """
SELECT * FROM api.remove_stream_performer(
    p_stream_id    => %(stream_id)s::uuid,
    p_performer_id => %(performer_id)s::uuid)
"""
CONSENT_TO_STREAM = """
SELECT * FROM api.consent_to_stream(
    p_stream_id  => %(stream_id)s::uuid,
    p_ip_address => %(ip_address)s::inet,
    p_user_agent => %(user_agent)s::text)
"""
START_STREAM = "SELECT * FROM api.start_stream(p_stream_id => %(stream_id)s::uuid)"
ROTATE_STREAM_KEY = "SELECT * FROM api.rotate_stream_key(p_stream_id => %(stream_id)s::uuid)"
CHECK_STREAM_KEY = "SELECT * FROM api.check_stream_key(p_stream_key => %(stream_key)s::text)"
END_STREAM = "SELECT * FROM api.end_stream(p_stream_id => %(stream_id)s::uuid, p_reason => %(reason)s::text)"
GET_STREAM = "SELECT * FROM api.get_stream(p_stream_id => %(stream_id)s::uuid)"
JOIN_STREAM = (
    "SELECT * FROM api.join_stream(p_stream_id => %(stream_id)s::uuid, p_ip_address => %(ip_address)s::inet)"
)
HEARTBEAT_STREAM = "SELECT * FROM api.heartbeat_stream(p_stream_id => %(stream_id)s::uuid)"
LEAVE_STREAM = "SELECT * FROM api.leave_stream(p_stream_id => %(stream_id)s::uuid)"
COUNT_GUEST = "SELECT api.count_guest(p_stream_id => %(stream_id)s::uuid)"
SWEEP_VIEWERS = "SELECT api.sweep_viewers(p_limit => %(limit)s::integer)"
LIST_STREAM_VIEWERS = "SELECT * FROM api.list_stream_viewers(p_stream_id => %(stream_id)s::uuid)"
BLOCK_VIEWER = "SELECT * FROM api.block_viewer(p_user_id => %(user_id)s::uuid, p_reason => %(reason)s::text)"
UNBLOCK_VIEWER = "SELECT api.unblock_viewer(p_user_id => %(user_id)s::uuid)"
LIST_LIVE_STREAMS = """
SELECT * FROM api.list_live_streams(
    p_category      => %(category)s::text,
    p_tag           => %(tag)s::text,
    p_after_viewers => %(after_viewers)s::integer,
    p_after_id      => %(after_id)s::uuid,
    p_limit         => %(limit)s::integer)
"""
LIST_PERFORMER_STREAMS = """
SELECT * FROM api.list_performer_streams(
    p_performer_id  => %(performer_id)s::uuid,
    p_after_created => %(after_created)s::timestamptz,
    p_after_id      => %(after_id)s::uuid,
    p_limit         => %(limit)s::integer)
"""
STREAM_TOP_TIPPERS = (
    "SELECT * FROM api.stream_top_tippers(p_stream_id => %(stream_id)s::uuid, p_limit => %(limit)s::integer)"
)
STREAM_EVENTS = """
SELECT * FROM api.stream_events(
    p_stream_id => %(stream_id)s::uuid,
    p_after     => %(after)s::text,
    p_limit     => %(limit)s::integer)
"""
STREAM_CHANNEL = "SELECT api.stream_channel(p_stream_id => %(stream_id)s::uuid)"
PURGE_STREAM_EVENTS = "SELECT api.purge_stream_events(p_limit => %(limit)s::integer)"
WAKE_STREAM_LISTENERS = "SELECT api.wake_stream_listeners(p_after => %(after)s::text)"
PERFORMER_TOP_TIPPERS = """
SELECT * FROM api.performer_top_tippers(
    p_performer_id => %(performer_id)s::uuid,
    p_period       => %(period)s::text,
    p_limit        => %(limit)s::integer)
"""

# --- streams: tip menus and goals ---------------------------------------------------------------------------

SET_MENU_ITEM = """
SELECT * FROM api.set_menu_item(
    p_name      => %(name)s::text,
    p_price     => %(price)s::bigint,
    p_item_id   => %(item_id)s::uuid,
    p_is_active => %(is_active)s::boolean)
"""
LIST_MENU = "SELECT * FROM api.list_menu(p_performer_id => %(performer_id)s::uuid)"
ADD_TIP_GOAL = """
SELECT * FROM api.add_tip_goal(
    p_stream_id        => %(stream_id)s::uuid,
    p_target_tokens    => %(target_tokens)s::bigint,
    p_description      => %(description)s::text,
    p_deadline         => %(deadline)s::timestamptz,
    p_refund_if_missed => %(refund_if_missed)s::boolean)
"""
CANCEL_TIP_GOAL = (
    "SELECT * FROM api.cancel_tip_goal(p_goal_id => %(goal_id)s::uuid, p_reason => %(reason)s::text)"
)
STREAM_GOALS = "SELECT * FROM api.stream_goals(p_stream_id => %(stream_id)s::uuid)"
SETTLE_TIP_GOALS = "SELECT * FROM api.settle_tip_goals(p_limit => %(limit)s::integer)"

# --- streams: shows -----------------------------------------------------------------------------------------

SET_SHOW_PRICE = """
SELECT * FROM api.set_show_price(
    p_show_type        => %(show_type)s::text,
    p_rate             => %(rate)s::bigint,
    p_min_minutes      => %(min_minutes)s::integer,
    p_spy_rate         => %(spy_rate)s::bigint,
    p_min_participants => %(min_participants)s::integer,
    p_is_enabled       => %(is_enabled)s::boolean)
"""
REQUEST_SHOW = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.request_show:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.request_show(
    p_stream_id       => %(stream_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""
OFFER_SHOW = (
    "SELECT * FROM api.offer_show(p_stream_id => %(stream_id)s::uuid, p_show_type => %(show_type)s::text)"
)
JOIN_SHOW = """
SELECT r.*,
       coalesce(current_setting('livepanty.replayed', true) = 'api.join_show:'
                || %(idempotency_key)s::text, false) AS replayed
  FROM api.join_show(
    p_show_id         => %(show_id)s::uuid,
    p_idempotency_key => %(idempotency_key)s::text) AS r
"""
ANSWER_SHOW = """
SELECT * FROM api.answer_show(
    p_show_id => %(show_id)s::uuid,
    p_accept  => %(accept)s::boolean,
    p_reason  => %(reason)s::text)
"""
START_SHOW = "SELECT * FROM api.start_show(p_show_id => %(show_id)s::uuid)"
LEAVE_SHOW = "SELECT * FROM api.leave_show(p_show_id => %(show_id)s::uuid)"
END_SHOW = "SELECT * FROM api.end_show(p_show_id => %(show_id)s::uuid, p_reason => %(reason)s::text)"
STREAM_SHOWS = "SELECT * FROM api.stream_shows(p_stream_id => %(stream_id)s::uuid)"
BILL_SHOWS = "SELECT * FROM api.bill_shows()"
REFUND_SHOW = "SELECT * FROM api.refund_show(p_show_id => %(show_id)s::uuid, p_reason => %(reason)s::text)"
