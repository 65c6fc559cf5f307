"""The token economy through the Python client: purchases, tips, holds, payouts, refunds, verification.

Every call goes through ``Client``/``AsyncClient`` as an application would: users act through
``role="livepanty_app"`` (row level security in force), the back office through
``role="livepanty_service"`` with nobody acting. Defaults (tests/conftest.py clones the migrated template):
tips.fee_bps 2000 (20 %, rounded down), bundles small 500 / medium 1100 / large 6000 tokens,
refunds.shortfall_policy "debt".
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from livepanty_db import AsyncClient, Client, errors, models, new_idempotency_key

PASSWORD = "Correct-Horse-42"
ADULT = date(1990, 5, 17)
KYC_DOCUMENT = {
    "document_type": "passport",
    "document_country": "de",
    "document_front_url": "s3://kyc-documents/front.jpg",
}


def key() -> str:
    return new_idempotency_key()


@dataclass
class Economy:
    """Two clients on one test database and the platform users the tests need."""

    app: Client
    service: Client
    admin: models.UserAccount
    viewer: models.UserAccount
    performer: models.UserAccount


@pytest.fixture
def eco(db_url: str, seed: Any) -> Iterator[Economy]:
    with Client(db_url, role="livepanty_app") as app, Client(db_url, role="livepanty_service") as service:
        admin = service.create_admin(
            email="boss@example.com", username="boss", password=PASSWORD, date_of_birth=ADULT
        )
        viewer = app.register_user(
            email="viewer@example.com", username="viewer", password=PASSWORD, date_of_birth=ADULT
        )
        performer = app.register_user(
            email="star@example.com",
            username="star",
            password=PASSWORD,
            date_of_birth=ADULT,
            role="performer",
        )
        seed.approve_kyc(performer.id)  # the KYC gate of being paid
        yield Economy(app, service, admin, viewer, performer)


def buy(eco: Economy, user: models.UserAccount, bundle: str = "large") -> models.Payment:
    """The user buys a bundle; the payment provider's callback completes it (service role)."""
    with eco.app.acting_as(user.id, reason="test") as tx:
        payment = tx.create_payment(bundle, "stripe", idempotency_key=key())
    return eco.service.complete_payment(payment.id, f"ch_{uuid.uuid4().hex}", idempotency_key=key())


def wallet(eco: Economy, user: models.UserAccount) -> models.Wallet:
    with eco.app.acting_as(user.id, reason="test") as tx:
        return tx.get_wallet()


def set_setting(eco: Economy, name: str, value: object) -> None:
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.set_setting(name, value)


def assert_sound(eco: Economy) -> models.LedgerTotals:
    """verify_ledger finds nothing and the totals balance, for the service role and for an acting admin."""
    assert eco.service.verify_ledger() == []
    totals = eco.service.ledger_totals()
    assert totals.imbalance == 0
    assert totals.circulating == totals.issued - totals.burned
    assert totals.circulating == totals.in_user_wallets + totals.in_system_wallets
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert tx.verify_ledger() == []
        assert tx.ledger_totals() == totals
    return totals


# --- purchases ----------------------------------------------------------------------------------------------


def test_purchase(eco: Economy) -> None:
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        bundles = {b.code: b for b in tx.list_bundles()}
        assert (bundles["large"].tokens, bundles["large"].price_minor) == (6000, 4999)
        payment_key = key()
        payment = tx.create_payment("large", "stripe", idempotency_key=payment_key)
        assert (payment.status, payment.tokens, payment.amount_minor) == ("pending", 6000, 4999)
        assert tx.create_payment("large", "stripe", idempotency_key=payment_key) == payment
    with pytest.raises(errors.IdempotencyConflict), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.create_payment("small", "stripe", idempotency_key=payment_key)
    assert wallet(eco, eco.viewer).total == 0  # pending: nothing credited yet

    complete_key = key()
    completed = eco.service.complete_payment(payment.id, "ch_1", idempotency_key=complete_key)
    assert (completed.id, completed.status, completed.provider_reference) == (payment.id, "completed", "ch_1")
    assert eco.service.complete_payment(payment.id, "ch_1", idempotency_key=complete_key) == completed
    with pytest.raises(errors.IdempotencyConflict):
        eco.service.complete_payment(payment.id, "ch_2", idempotency_key=complete_key)
    with pytest.raises(errors.InvalidState):  # a new key is a new operation: the payment is no longer pending
        eco.service.complete_payment(payment.id, "ch_1", idempotency_key=key())

    mine = wallet(eco, eco.viewer)
    assert (mine.total, mine.reserved, mine.available, mine.in_debt) == (6000, 0, 6000, False)
    assert mine.value_minor == 6000  # 100 tokens per USD: 60.00 USD

    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert tx.get_payment(payment.id) == completed
        failing = tx.create_payment("small", "paypal", idempotency_key=key())
    failed = eco.service.fail_payment(failing.id, "card declined", idempotency_key=key())
    assert (failed.status, failed.failure_reason) == ("failed", "card declined")
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert [p.id for p in tx.list_payments()] == [failing.id, payment.id]
        assert [p.id for p in tx.list_payments(status="completed")] == [payment.id]
    with pytest.raises(errors.NotFound), eco.app.acting_as(eco.performer.id, reason="test") as tx:
        tx.get_payment(payment.id)
    with pytest.raises(errors.PermissionDenied):  # only the service role completes payments
        eco.app.complete_payment(failing.id, "ch_3", idempotency_key=key())
    assert wallet(eco, eco.viewer).total == 6000
    assert_sound(eco)


def test_bundles_are_configuration(eco: Economy) -> None:
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        bundle = tx.set_bundle("mega", 20000, 14999)
        assert (bundle.code, bundle.tokens, bundle.currency, bundle.active) == ("mega", 20000, "USD", True)
        tx.set_bundle("small", 500, 499, active=False)
        assert {b.code for b in tx.list_bundles()} >= {"mega", "small"}  # admins see inactive bundles
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert [b.code for b in tx.list_bundles()] == ["medium", "large", "mega"]
    with pytest.raises(errors.PermissionDenied), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.set_bundle("free", 1000, 1)
    with pytest.raises(errors.UnknownBundle), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.create_payment("small", "stripe", idempotency_key=key())


# --- tips ---------------------------------------------------------------------------------------------------


def test_tips(eco: Economy) -> None:
    buy(eco, eco.viewer)
    tip_key = key()
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tip = tx.tip(eco.performer.id, 1000, idempotency_key=tip_key, message="great show")
        assert (tip.amount, tip.fee_amount, tip.message) == (1000, 200, "great show")
        assert (tip.sender_id, tip.recipient_id) == (eco.viewer.id, eco.performer.id)
        # a retry with the same key returns the original tip and moves nothing
        assert tx.tip(eco.performer.id, 1000, idempotency_key=tip_key, message="great show") == tip
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:  # a later transaction: lists put it first
        anonymous = tx.tip(eco.performer.id, 501, idempotency_key=key(), is_anonymous=True)
        assert anonymous.fee_amount == 100  # 20 % of 501 rounded down: the performer keeps the odd token
    with pytest.raises(errors.IdempotencyConflict), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 999, idempotency_key=tip_key, message="great show")
    with pytest.raises(errors.InsufficientFunds), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 10_000, idempotency_key=key())

    # the fee split, visible in both wallets
    assert (wallet(eco, eco.viewer).total, wallet(eco, eco.viewer).available) == (4499, 4499)
    star = wallet(eco, eco.performer)
    assert (star.total, star.available) == (800 + 401, 800 + 401)
    totals = assert_sound(eco)
    assert (totals.issued, totals.in_user_wallets, totals.in_system_wallets) == (6000, 6000 - 300, 300)

    # the recipient does not learn who sent the anonymous tip; the sender and admins do
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        received = tx.list_tips(as_="recipient")
        assert [(t.id, t.sender_id) for t in received] == [(anonymous.id, None), (tip.id, eco.viewer.id)]
        split = [(t.amount, t.fee_amount, t.net_amount) for t in received]
        assert split == [(501, 100, 401), (1000, 200, 800)]
        assert tx.list_tips() == []  # as sender: none
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert [t.sender_id for t in tx.list_tips()] == [eco.viewer.id, eco.viewer.id]
    with pytest.raises(errors.PermissionDenied), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.list_tips("recipient", user_id=eco.performer.id)
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        seen = tx.list_tips("recipient", user_id=eco.performer.id, limit=1)
        assert [(t.id, t.sender_id) for t in seen] == [(anonymous.id, eco.viewer.id)]
        following = tx.list_tips("recipient", user_id=eco.performer.id, after=seen[-1].id)
        assert [t.id for t in following] == [tip.id]


def test_tip_rejections(eco: Economy) -> None:
    buy(eco, eco.viewer, "small")
    with pytest.raises(errors.SelfPayment), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.viewer.id, 10, idempotency_key=key())
    with (
        pytest.raises(errors.RecipientNotPerformer),
        eco.app.acting_as(eco.performer.id, reason="test") as tx,
    ):
        tx.tip(eco.viewer.id, 10, idempotency_key=key())
    with pytest.raises(errors.AmountOutOfRange), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 0, idempotency_key=key())
    with pytest.raises(errors.NotAuthenticated):
        eco.app.tip(eco.performer.id, 10, idempotency_key=key())
    with pytest.raises(errors.InvalidArgument), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 10, idempotency_key="")
    assert wallet(eco, eco.viewer).total == 500


def test_spending_limits(eco: Economy) -> None:
    buy(eco, eco.viewer)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        limit = tx.set_spending_limit("daily", 1000)
        assert (limit.period, limit.limit_tokens, limit.pending_limit_tokens) == ("daily", 1000, None)
        tx.tip(eco.performer.id, 600, idempotency_key=key())
    with pytest.raises(errors.SpendingLimitExceeded), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 500, idempotency_key=key())
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        [status] = tx.get_spending_limits()
        assert (status.period, status.limit_tokens) == ("daily", 1000)
        assert (status.spent, status.reserved, status.remaining) == (600, 0, 400)
        raised = tx.set_spending_limit("daily", 5000)  # raising waits for the cooling-off period
        assert (raised.limit_tokens, raised.pending_limit_tokens) == (1000, 5000)
        assert raised.pending_effective_at is not None
        assert raised.pending_effective_at > datetime.now(UTC)
        assert tx.set_spending_limit("daily", None).limit_tokens == 1000  # so does removing it
        assert tx.set_spending_limit("daily", 700).limit_tokens == 700  # lowering applies at once
    with pytest.raises(errors.InvalidArgument), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.set_spending_limit("yearly", 10)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        [status] = tx.get_spending_limits()
        assert (status.limit_tokens, status.pending_limit_tokens, status.remaining) == (700, None, 100)


# --- holds --------------------------------------------------------------------------------------------------


def test_hold_capture_and_release(eco: Economy) -> None:
    buy(eco, eco.viewer)
    hold_key = key()
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        life = timedelta(minutes=30)
        hold = tx.place_hold(eco.performer.id, 1000, idempotency_key=hold_key, expires_in=life)
        assert (hold.status, hold.amount, hold.captured, hold.purpose) == ("open", 1000, 0, "private_show")
        assert tx.place_hold(eco.performer.id, 1000, idempotency_key=hold_key, expires_in=life) == hold
    with pytest.raises(errors.IdempotencyConflict), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.place_hold(eco.performer.id, 2000, idempotency_key=hold_key, expires_in=timedelta(minutes=30))
    with pytest.raises(errors.InsufficientFunds), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.place_hold(eco.performer.id, 5001, idempotency_key=key())
    mine = wallet(eco, eco.viewer)
    assert (mine.total, mine.reserved, mine.available) == (6000, 1000, 5000)

    # the back office (per-minute billing) captures part of it, with nobody acting
    capture_key = key()
    capture = eco.service.capture_hold(hold.id, 300, idempotency_key=capture_key)
    assert (capture.hold_id, capture.amount, capture.fee_amount) == (hold.id, 300, 60)
    assert eco.service.capture_hold(hold.id, 300, idempotency_key=capture_key) == capture
    with pytest.raises(errors.IdempotencyConflict):
        eco.service.capture_hold(hold.id, 200, idempotency_key=capture_key)
    with pytest.raises(errors.CaptureExceedsHold):
        eco.service.capture_hold(hold.id, 701, idempotency_key=key())
    with eco.app.acting_as(
        eco.performer.id, reason="test"
    ) as tx:  # the payee captures too; the holder may not
        tx.capture_hold(hold.id, 100, idempotency_key=key())
    with pytest.raises(errors.PermissionDenied), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.capture_hold(hold.id, 100, idempotency_key=key())

    # the holder releases the rest
    release_key = key()
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        released = tx.release_hold(hold.id, idempotency_key=release_key)
        assert (released.status, released.captured) == ("released", 400)
        assert tx.release_hold(hold.id, idempotency_key=release_key) == released
        assert tx.get_hold(hold.id) == released
    with pytest.raises(errors.HoldNotOpen), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.release_hold(hold.id, idempotency_key=key())
    with pytest.raises(errors.HoldNotOpen):
        eco.service.capture_hold(hold.id, 1, idempotency_key=key())

    mine = wallet(eco, eco.viewer)
    assert (mine.total, mine.reserved, mine.available) == (5600, 0, 5600)
    assert wallet(eco, eco.performer).total == 240 + 80
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        assert [h.id for h in tx.list_holds("payee")] == [hold.id]
        assert tx.list_holds() == []
        summary = tx.earnings_summary()
        assert (summary.captures_count, summary.captures_gross, summary.captures_net) == (2, 400, 320)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert [h.status for h in tx.list_holds(status="released")] == ["released"]
    assert_sound(eco)


def test_holds_expire(eco: Economy) -> None:
    buy(eco, eco.viewer, "small")
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        first = tx.place_hold(eco.performer.id, 100, idempotency_key=key(), expires_in=timedelta(seconds=1))
        second = tx.place_hold(eco.performer.id, 100, idempotency_key=key(), expires_in=timedelta(seconds=1))
    assert wallet(eco, eco.viewer).reserved == 200
    time.sleep(1.2)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:  # lazily, when read
        assert tx.get_hold(first.id).status == "expired"
    assert eco.service.expire_holds() == 1  # and by the job
    assert eco.service.get_hold(second.id).status == "expired"
    assert eco.service.expire_holds() == 0
    assert (wallet(eco, eco.viewer).reserved, wallet(eco, eco.viewer).available) == (0, 500)
    assert_sound(eco)


# --- KYC and payouts ----------------------------------------------------------------------------------------


def fund_performer(eco: Economy, tokens: int) -> None:
    """Tips from the viewer that leave the performer ``tokens`` (net of the 20 % fee)."""
    buy(eco, eco.viewer)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, tokens * 10_000 // 8_000, idempotency_key=key())


def test_kyc_and_payout(eco: Economy, seed: Any) -> None:
    set_setting(eco, "payouts.hold_days", 0)  # earnings are payable at once
    set_setting(eco, "payouts.min_tokens", 1000)
    fund_performer(eco, 4000)
    # The performer earned while verified; then her document expired: re-verification needed (the KYC gate).
    seed.execute(
        "UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute' WHERE user_id = %s",
        (eco.performer.id,),
        user=eco.performer.id,
    )
    with pytest.raises(errors.KycRequired), eco.app.acting_as(eco.performer.id, reason="test") as tx:
        tx.request_payout(1000, "paypal", idempotency_key=key())

    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        lapsed = tx.get_kyc_status()
        assert lapsed is not None
        assert lapsed.status == "expired"
        submitted = tx.submit_kyc(**KYC_DOCUMENT)
        assert (submitted.status, submitted.level) == ("submitted", "identity")
        assert submitted.document_country == "DE"
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert [k.id for k in tx.list_pending_kyc()] == [submitted.id]
        approved = tx.approve_kyc(submitted.id, expires_at=datetime.now(UTC) + timedelta(days=365))
        assert (approved.status, approved.reviewed_by) == ("approved", eco.admin.id)
        assert tx.get_kyc_status(eco.performer.id) == approved
        assert tx.list_pending_kyc() == []

    payout_key = key()
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        payout = tx.request_payout(2500, "paypal", idempotency_key=payout_key)
        assert (payout.status, payout.tokens, payout.kyc_verification_id) == ("requested", 2500, submitted.id)
        assert (payout.amount_minor, payout.currency) == (2500, "USD")  # 100 tokens per USD: 25.00 USD
        assert tx.request_payout(2500, "paypal", idempotency_key=payout_key) == payout
    with pytest.raises(errors.IdempotencyConflict), eco.app.acting_as(eco.performer.id, reason="test") as tx:
        tx.request_payout(2000, "paypal", idempotency_key=payout_key)
    with pytest.raises(errors.PayoutExceedsPayable), eco.app.acting_as(eco.performer.id, reason="test") as tx:
        tx.request_payout(1501, "paypal", idempotency_key=key())
    assert wallet(eco, eco.performer).total == 1500

    approve_key = key()
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        approved_payout = tx.approve_payout(payout.id, idempotency_key=approve_key)
        assert (approved_payout.status, approved_payout.reviewed_by) == ("approved", eco.admin.id)
        assert tx.approve_payout(payout.id, idempotency_key=approve_key) == approved_payout
    with pytest.raises(errors.PermissionDenied):  # the service role pays; the application role may not
        eco.app.mark_payout_paid(payout.id, "po_1", idempotency_key=key())
    paid = eco.service.mark_payout_paid(payout.id, "po_1", idempotency_key=key())
    assert (paid.status, paid.provider_reference) == ("paid", "po_1")
    assert paid.paid_at is not None

    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        summary = tx.earnings_summary()
        assert (summary.tips_count, summary.tips_net, summary.paid_out) == (1, 4000, 2500)
        assert (summary.balance, summary.payable, summary.in_clearing) == (1500, 1500, 0)
        assert [p.status for p in tx.list_payouts()] == ["paid"]
        # the performer sees who reviewed as a label, not the admin's id (docs/api.md, "Staff labels")
        (listed,) = tx.list_payouts()
        assert approved_payout.reviewed_by_label is not None
        assert approved_payout.reviewed_by_label.startswith("admin #")
        assert (listed.reviewed_by, listed.reviewed_by_label) == (None, approved_payout.reviewed_by_label)
        kyc = tx.get_kyc_status()
        assert kyc is not None
        assert (kyc.reviewed_by, kyc.reviewed_by_label) == (None, approved.reviewed_by_label)
    totals = assert_sound(eco)
    assert (totals.issued, totals.burned, totals.circulating) == (6000, 2500, 3500)


def test_payouts_that_do_not_pay(eco: Economy) -> None:
    set_setting(eco, "payouts.hold_days", 0)
    set_setting(eco, "payouts.min_tokens", 1000)
    fund_performer(eco, 4000)
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        kyc = tx.submit_kyc(**KYC_DOCUMENT)
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        rejected_kyc = tx.reject_kyc(kyc.id, "document unreadable")
        assert (rejected_kyc.status, rejected_kyc.rejection_reason) == ("declined", "document unreadable")
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        assert tx.get_kyc_status().status == "declined"
        kyc = tx.submit_kyc(**KYC_DOCUMENT, selfie_url="s3://kyc-documents/selfie.jpg")
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.approve_kyc(kyc.id)

    def request() -> models.Payout:
        with eco.app.acting_as(eco.performer.id, reason="test") as tx:
            return tx.request_payout(1000, "bank_transfer", idempotency_key=key())

    cancelled = request()
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        assert tx.cancel_payout(cancelled.id, idempotency_key=key()).status == "cancelled"
    rejected = request()
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert tx.reject_payout(rejected.id, "unusual activity", idempotency_key=key()).status == "rejected"
    failed = request()
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.approve_payout(failed.id, idempotency_key=key())
    failed = eco.service.mark_payout_failed(failed.id, "account closed", idempotency_key=key())
    assert failed.status == "failed"

    assert wallet(eco, eco.performer).total == 4000  # every token came back
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        listed = tx.list_payouts(user_id=eco.performer.id)
        assert [p.status for p in listed] == ["failed", "rejected", "cancelled"]
        assert [p.id for p in tx.list_payouts(status="rejected")] == [rejected.id]
    assert_sound(eco)


def test_send_payout_claims_the_payout_before_the_transfer(eco: Economy) -> None:
    """The payout processor's claim (``send_payout``, livepanty_service only): refused under a payout_hold
    (the payout stays approved), then ``sending``, replayed by its key, won once; a sending payout is in
    clearing and cannot be rejected; a payout_hold issued after the send does not stop recording the payment,
    and a sent payout whose transfer failed gives its tokens back."""
    set_setting(eco, "payouts.hold_days", 0)
    set_setting(eco, "payouts.min_tokens", 1000)
    fund_performer(eco, 4000)
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        kyc = tx.submit_kyc(**KYC_DOCUMENT)
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.approve_kyc(kyc.id)
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        paid = tx.request_payout(1000, "paypal", idempotency_key=key())
        failed = tx.request_payout(1000, "wire", idempotency_key=key())
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        for payout in (paid, failed):
            tx.approve_payout(payout.id, idempotency_key=key())
        hold = tx.sanction_user(eco.performer.id, "payout_hold", "chargeback under review")

    with pytest.raises(errors.SanctionForbids):
        eco.service.send_payout(paid.id, idempotency_key=key())
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert [p.status for p in tx.list_payouts(user_id=eco.performer.id)] == ["approved", "approved"]
        tx.revoke_sanction(hold.id, "settled")
    with pytest.raises(errors.PermissionDenied):  # the service role sends; the application role may not
        eco.app.send_payout(paid.id, idempotency_key=key())

    send_key = key()
    sending = eco.service.send_payout(paid.id, idempotency_key=send_key)
    assert (sending.status, sending.replayed, sending.paid_at) == ("sending", False, None)
    assert sending.sending_at is not None
    again = eco.service.send_payout(paid.id, idempotency_key=send_key)
    assert (again, again.replayed) == (sending, True)
    with pytest.raises(errors.InvalidState):  # one claim wins
        eco.service.send_payout(paid.id, idempotency_key=key())
    assert eco.service.send_payout(failed.id, idempotency_key=key()).status == "sending"
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        assert tx.earnings_summary().in_clearing == 2000
    with pytest.raises(errors.InvalidState), eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.reject_payout(paid.id, "too late", idempotency_key=key())
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert {p.id for p in tx.list_payouts(status="sending")} == {paid.id, failed.id}
        tx.sanction_user(eco.performer.id, "payout_hold", "another chargeback")

    done = eco.service.mark_payout_paid(paid.id, "po_sent", idempotency_key=key())
    assert (done.status, done.provider_reference, done.sending_at) == ("paid", "po_sent", sending.sending_at)
    before = wallet(eco, eco.performer).total
    back = eco.service.mark_payout_failed(failed.id, "account closed", idempotency_key=key())
    assert (back.status, back.failure_reason) == ("failed", "account closed")
    assert wallet(eco, eco.performer).total == before + 1000
    assert_sound(eco)


# --- refunds, chargebacks and adjustments -------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["debt", "write_off"])
def test_refund_of_spent_tokens(eco: Economy, policy: str) -> None:
    set_setting(eco, "refunds.shortfall_policy", policy)
    payment = buy(eco, eco.viewer)
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.tip(eco.performer.id, 5000, idempotency_key=key())

    refunded = eco.service.refund_payment(payment.id, "customer request", idempotency_key=key())
    assert (refunded.status, refunded.recovered_tokens) == ("refunded", 1000)
    mine = wallet(eco, eco.viewer)
    if policy == "debt":
        assert (refunded.debt_tokens, refunded.written_off_tokens) == (5000, 0)
        assert (mine.total, mine.in_debt) == (-5000, True)
        with pytest.raises(errors.WalletInDebt), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
            tx.tip(eco.performer.id, 1, idempotency_key=key())
        buy(eco, eco.viewer)  # a purchase pays the debt back
        assert (wallet(eco, eco.viewer).total, wallet(eco, eco.viewer).in_debt) == (1000, False)
    else:
        assert (refunded.debt_tokens, refunded.written_off_tokens) == (0, 5000)
        assert (mine.total, mine.in_debt) == (0, False)
    assert wallet(eco, eco.performer).total == 4000  # the performer keeps the tip
    with pytest.raises(errors.InvalidState):
        eco.service.chargeback_payment(payment.id, "too late", idempotency_key=key())
    assert_sound(eco)


def test_chargeback_and_adjustment(eco: Economy) -> None:
    payment = buy(eco, eco.viewer, "medium")
    charged_back = eco.service.chargeback_payment(payment.id, "fraudulent card", idempotency_key=key())
    assert (charged_back.status, charged_back.recovered_tokens) == ("chargeback", 1100)
    assert (charged_back.debt_tokens, charged_back.written_off_tokens) == (0, 0)
    assert wallet(eco, eco.viewer).total == 0

    adjust_key = key()
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        adjustment = tx.adjust_balance(eco.viewer.id, 250, "goodwill credit", idempotency_key=adjust_key)
        assert (adjustment.amount, adjustment.created_by) == (250, eco.admin.id)
        replay = tx.adjust_balance(eco.viewer.id, 250, "goodwill credit", idempotency_key=adjust_key)
        assert replay == adjustment
    with pytest.raises(errors.IdempotencyConflict), eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.adjust_balance(eco.viewer.id, 300, "goodwill credit", idempotency_key=adjust_key)
    with pytest.raises(errors.InsufficientFunds), eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.adjust_balance(eco.viewer.id, -251, "correction", idempotency_key=key())
    with pytest.raises(errors.PermissionDenied), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.adjust_balance(eco.performer.id, 1, "free tokens", idempotency_key=key())
    assert wallet(eco, eco.viewer).total == 250
    assert_sound(eco)


# --- replays are visible ---------------------------------------------------------------------------------


def test_replays_are_flagged(eco: Economy, db_url: str) -> None:
    """Every money call answered from its idempotency key says so (``replayed``), a call that did the work
    says not; the flag belongs to the call (same key, other function; other key, same function: not a replay).
    """
    set_setting(eco, "payouts.hold_days", 0)
    set_setting(eco, "payouts.min_tokens", 1000)
    seen: dict[str, tuple[bool, bool]] = {}

    def twice(name: str, call: Any) -> Any:
        first, second = call(), call()
        assert first == second, name  # the same result (the flag is not compared)
        seen[name] = (first.replayed, second.replayed)
        return first

    k = {name: key() for name in ("buy", "complete", "tip", "hold", "capture", "release", "adjust")}
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        payment = twice(
            "create_payment", lambda: tx.create_payment("large", "stripe", idempotency_key=k["buy"])
        )
    twice(
        "complete_payment",
        lambda: eco.service.complete_payment(payment.id, "ch_r1", idempotency_key=k["complete"]),
    )
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        twice("tip", lambda: tx.tip(eco.performer.id, 5000, idempotency_key=k["tip"]))
        # the tip's key again, for a hold: not a replay of anything (keys are per function)
        assert not tx.place_hold(eco.performer.id, 10, idempotency_key=k["tip"]).replayed
        hold = twice("place_hold", lambda: tx.place_hold(eco.performer.id, 100, idempotency_key=k["hold"]))
    # the service captures (as a show biller does); a fresh call of the function just replayed: not a replay
    twice("capture_hold", lambda: eco.service.capture_hold(hold.id, 40, idempotency_key=k["capture"]))
    assert not eco.service.capture_hold(hold.id, 10, idempotency_key=key()).replayed
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        twice("release_hold", lambda: tx.release_hold(hold.id, idempotency_key=k["release"]))
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        twice(
            "adjust_balance",
            lambda: tx.adjust_balance(eco.viewer.id, 5, "goodwill", idempotency_key=k["adjust"]),
        )

    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        small = tx.create_payment("small", "stripe", idempotency_key=key())
        failing = tx.create_payment("small", "stripe", idempotency_key=key())
        charged = tx.create_payment("small", "stripe", idempotency_key=key())
    twice("fail_payment", lambda: eco.service.fail_payment(failing.id, "declined", idempotency_key="f1"))
    for p, ref in ((small, "ch_r2"), (charged, "ch_r3")):
        eco.service.complete_payment(p.id, ref, idempotency_key=key())
    twice("refund_payment", lambda: eco.service.refund_payment(small.id, "asked", idempotency_key="r1"))
    twice(
        "chargeback_payment",
        lambda: eco.service.chargeback_payment(charged.id, "fraud", idempotency_key="c1"),
    )

    payouts = []
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        for n in range(3):
            payouts.append(
                twice(
                    "request_payout", lambda n=n: tx.request_payout(1000, "paypal", idempotency_key=f"p{n}")
                )
            )
        twice("cancel_payout", lambda: tx.cancel_payout(payouts[0].id, idempotency_key="x1"))
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        twice("reject_payout", lambda: tx.reject_payout(payouts[1].id, "no", idempotency_key="j1"))
        twice("approve_payout", lambda: tx.approve_payout(payouts[2].id, idempotency_key="a1"))
    twice(
        "mark_payout_failed",
        lambda: eco.service.mark_payout_failed(payouts[2].id, "closed", idempotency_key="m1"),
    )
    with eco.app.acting_as(eco.performer.id, reason="test") as tx:
        paid = tx.request_payout(1000, "paypal", idempotency_key=key())
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        tx.approve_payout(paid.id, idempotency_key=key())
    twice("send_payout", lambda: eco.service.send_payout(paid.id, idempotency_key="s2"))
    twice("mark_payout_paid", lambda: eco.service.mark_payout_paid(paid.id, "po_9", idempotency_key="m2"))

    assert seen == dict.fromkeys(seen, (False, True))
    # every money function of the API but the batch (its rows carry their own flag) and the shows
    # (tests/py/test_shows_client.py) was exercised
    with psycopg.connect(db_url) as conn:
        keyed = {
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc AS p WHERE p.pronamespace = 'api'::regnamespace"
                " AND 'p_idempotency_key' = ANY (p.proargnames)"
            )
        }
    assert set(seen) == keyed - {"request_show", "join_show"}
    assert_sound(eco)


def test_every_keyed_money_function_notes_its_replays(seed: Any) -> None:
    """A money function with an idempotency key names itself to lp.note_replay (the client's flag reads that
    name): a new function that forgets it, or copies another's name, fails here. (Behind a router the api
    functions are routes: their source is read on a shard.)"""
    with psycopg.connect(seed.databases[0]) as conn:
        rows = conn.execute(
            "SELECT p.proname, p.prosrc FROM pg_proc AS p WHERE p.pronamespace = 'api'::regnamespace"
            " AND 'p_idempotency_key' = ANY (p.proargnames)"
        ).fetchall()
    assert len(rows) >= 18
    for name, source in rows:
        notes = set(re.findall(r"lp\.note_replay\('api\.(\w+)', p_idempotency_key\)", source))
        assert notes == {name}, name


def test_replays_are_flagged_async(eco: Economy, db_url: str) -> None:
    async def calls() -> tuple[models.Payment, models.Payment]:
        async with AsyncClient(db_url, role="livepanty_app") as app:
            payment_key = key()
            async with app.acting_as(eco.viewer.id, reason="test") as tx:
                first = await tx.create_payment("small", "stripe", idempotency_key=payment_key)
                return first, await tx.create_payment("small", "stripe", idempotency_key=payment_key)

    first, second = asyncio.run(calls())
    assert (first.replayed, second.replayed, first == second) == (False, True, True)


# --- history, sweeps, verification --------------------------------------------------------------------------


def test_wallet_history_pages(eco: Economy) -> None:
    before = datetime.now(UTC)
    buy(eco, eco.viewer, "small")
    for _ in range(9):
        with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
            tx.tip(eco.performer.id, 10, idempotency_key=key())
    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        everything = tx.wallet_history()
        assert len(everything) == 10
        assert [e.entry_kind for e in everything] == ["tip"] * 9 + ["purchase"]
        assert all(e.balance_after == e.balance_before + e.amount for e in everything)
        assert everything[0].balance_after == 410

        pages = [tx.wallet_history(limit=4)]
        tx.tip(eco.performer.id, 10, idempotency_key=key())  # a new entry does not shift the next pages
        while pages[-1]:
            pages.append(tx.wallet_history(before_id=min(e.id for e in pages[-1]), limit=4))
    assert [len(p) for p in pages] == [4, 4, 2, 0]
    assert [e for page in pages for e in page] == everything

    with eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        assert tx.balance_at(before) == 0
        assert tx.balance_at(datetime.now(UTC)) == 400
    with (
        pytest.raises(errors.NotFound),
        eco.app.acting_as(eco.viewer.id, reason="test") as tx,
    ):  # another user's wallet
        tx.wallet_history(eco.performer.id)
    with eco.app.acting_as(eco.admin.id, reason="test") as tx:
        assert tx.balance_at(datetime.now(UTC), eco.viewer.id) == 400
        assert len(tx.wallet_history(eco.performer.id)) == 10


def test_sweeps_and_chunked_verification(eco: Economy) -> None:
    fund_performer(eco, 800)
    star = wallet(eco, eco.performer)
    assert (star.balance, star.pending_credits, star.total) == (0, 800, 800)  # earnings wait in credit shards
    assert eco.service.sweep_wallets() == 1
    star = wallet(eco, eco.performer)
    assert (star.balance, star.pending_credits, star.total) == (800, 0, 800)
    assert eco.service.sweep_wallets() == 0

    chunks = eco.service.ledger_stats(chunk_wallets=2)
    assert chunks[0].wallet_from is None
    assert chunks[-1].wallet_to is None
    assert sum(c.entries for c in chunks) == eco.service.ledger_stats()[0].entries
    for chunk in chunks:
        found = eco.service.verify_ledger(
            wallet_from=chunk.wallet_from, wallet_to=chunk.wallet_to, global_=chunk is chunks[-1]
        )
        assert found == []
        found = eco.service.verify_ledger(
            wallet_from=chunk.wallet_from, wallet_to=chunk.wallet_to, global_=False, transactions=False
        )
        assert found == []
    periods = eco.service.ledger_periods(chunk_entries=1)  # a cut at every entry's time
    assert len(periods) > 2
    assert periods[0].period_from is None
    assert periods[-1].period_to is None
    assert all(a.period_to == b.period_from for a, b in itertools.pairwise(periods))
    for p in periods:
        assert eco.service.verify_ledger_period(period_from=p.period_from, period_to=p.period_to) == []
    with pytest.raises(errors.PermissionDenied), eco.app.acting_as(eco.viewer.id, reason="test") as tx:
        tx.verify_ledger()
    with pytest.raises(errors.NotAuthenticated):
        eco.app.ledger_totals()


# --- the same flows, asynchronously -------------------------------------------------------------------------


def test_economy_async(db_url: str, eco: Economy) -> None:
    viewer, performer, admin = eco.viewer, eco.performer, eco.admin

    async def scenario() -> None:
        async with (
            AsyncClient(db_url, role="livepanty_app") as app,
            AsyncClient(db_url, role="livepanty_service") as service,
        ):
            async with app.acting_as(admin.id, reason="test") as tx:
                await tx.set_setting("payouts.hold_days", 0)
                await tx.set_setting("payouts.min_tokens", 1000)
                assert len(await tx.list_bundles()) == 3

            # buy
            payment_key = key()
            async with app.acting_as(viewer.id, reason="test") as tx:
                payment = await tx.create_payment("large", "stripe", idempotency_key=payment_key)
                assert await tx.create_payment("large", "stripe", idempotency_key=payment_key) == payment
            completed = await service.complete_payment(payment.id, "ch_async", idempotency_key=key())
            assert completed.status == "completed"
            with pytest.raises(errors.IdempotencyConflict):
                async with app.acting_as(viewer.id, reason="test") as tx:
                    await tx.create_payment("medium", "stripe", idempotency_key=payment_key)

            # tip
            tip_key = key()
            async with app.acting_as(viewer.id, reason="test") as tx:
                tip = await tx.tip(performer.id, 2500, idempotency_key=tip_key, is_anonymous=True)
                assert await tx.tip(performer.id, 2500, idempotency_key=tip_key, is_anonymous=True) == tip
                assert (await tx.get_wallet()).total == 3500
                assert [t.id for t in await tx.list_tips()] == [tip.id]
            with pytest.raises(errors.InsufficientFunds):
                async with app.acting_as(viewer.id, reason="test") as tx:
                    await tx.tip(performer.id, 3501, idempotency_key=key())
            async with app.acting_as(performer.id, reason="test") as tx:
                assert (await tx.get_wallet()).total == 2000
                assert [t.sender_id for t in await tx.list_tips("recipient")] == [None]

            # hold: placed by the viewer, partly captured by the back office, the rest released
            async with app.acting_as(viewer.id, reason="test") as tx:
                hold = await tx.place_hold(performer.id, 1000, idempotency_key=key(), purpose="group_show")
                assert (await tx.get_wallet()).available == 2500
            capture = await service.capture_hold(hold.id, 500, idempotency_key=key())
            assert capture.fee_amount == 100
            assert await service.sweep_wallets() == 1  # the performer's tip and capture wait in shards
            assert await service.sweep_wallets() == 0
            async with app.acting_as(viewer.id, reason="test") as tx:
                assert (await tx.release_hold(hold.id, idempotency_key=key())).status == "released"
                assert [h.id for h in await tx.list_holds()] == [hold.id]
                mine = await tx.get_wallet()
                assert (mine.total, mine.reserved) == (3000, 0)
                assert len(await tx.wallet_history(limit=500)) == 3  # purchase, tip, capture
                await tx.set_spending_limit("weekly", 10_000)
                assert [s.spent for s in await tx.get_spending_limits()] == [3000]

            # KYC and payout
            async with app.acting_as(performer.id, reason="test") as tx:
                kyc = await tx.submit_kyc(**KYC_DOCUMENT)
            async with app.acting_as(admin.id, reason="test") as tx:
                assert [k.id for k in await tx.list_pending_kyc()] == [kyc.id]
                await tx.approve_kyc(kyc.id)
            async with app.acting_as(performer.id, reason="test") as tx:
                assert (await tx.get_kyc_status()).status == "approved"
                payout = await tx.request_payout(2000, "wire", idempotency_key=key())
            async with app.acting_as(admin.id, reason="test") as tx:
                await tx.approve_payout(payout.id, idempotency_key=key())
            sent = await service.send_payout(payout.id, idempotency_key=key())
            assert (sent.status, sent.sending_at is not None) == ("sending", True)
            paid = await service.mark_payout_paid(payout.id, "po_async", idempotency_key=key())
            assert paid.status == "paid"
            async with app.acting_as(performer.id, reason="test") as tx:
                summary = await tx.earnings_summary()
                assert (summary.tips_net, summary.captures_net, summary.paid_out) == (2000, 400, 2000)
                assert (await tx.get_wallet()).total == 400
                assert [p.id for p in await tx.list_payouts()] == [payout.id]

            # refund (default policy debt): 3000 of 6000 tokens left to recover
            refunded = await service.refund_payment(payment.id, "customer request", idempotency_key=key())
            assert (refunded.recovered_tokens, refunded.debt_tokens) == (3000, 3000)
            async with app.acting_as(viewer.id, reason="test") as tx:
                assert (await tx.get_payment(payment.id)).status == "refunded"
                assert [p.status for p in await tx.list_payments()] == ["refunded"]
                assert (await tx.get_wallet()).in_debt
                assert await tx.balance_at(datetime.now(UTC)) == -3000

            # the ledger is sound
            assert await service.verify_ledger() == []
            assert (await service.ledger_totals()).imbalance == 0
            assert len(await service.ledger_stats()) == 1
            assert await service.expire_holds() == 0
            async with app.acting_as(admin.id, reason="test") as tx:
                assert await tx.verify_ledger() == []
                bundle = await tx.set_bundle("huge", 100_000, 79_999, currency="EUR")
                assert bundle.currency == "EUR"
                await tx.adjust_balance(viewer.id, 3000, "debt forgiven", idempotency_key=key())
                assert (await tx.get_wallet(viewer.id)).total == 0
            async with app.acting_as(viewer.id, reason="test") as tx:
                failing = await tx.create_payment("small", "stripe", idempotency_key=key())
            assert (await service.fail_payment(failing.id, idempotency_key=key())).status == "failed"
            assert await service.verify_ledger() == []

    asyncio.run(scenario())
