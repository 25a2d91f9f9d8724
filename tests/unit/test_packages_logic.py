"""Pure logic of packages and subscriptions: periods, the downgrade decision, what a period
grants and when grants expire under keep or reset, minutes of usage."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from models.entities import Package
from voxcast.packages import errors
from voxcast.packages.periods import add_months, add_period
from voxcast.packages.subscriptions import (Grant, decide_change, expiry_on_renewal,
                                            grant_expiry, is_downgrade, period_grants)
from voxcast.packages.usage import minutes_of

T = dt.datetime(2026, 1, 31, 10, 30)


@pytest.mark.parametrize("start, period, day, end", [
    (dt.datetime(2026, 1, 15, 9), "monthly", None, dt.datetime(2026, 2, 15, 9)),
    (T, "monthly", None, dt.datetime(2026, 2, 28, 10, 30)),  # clamped to February's last day
    (dt.datetime(2028, 1, 31), "monthly", None, dt.datetime(2028, 2, 29)),  # leap year
    (dt.datetime(2026, 2, 28, 10, 30), "monthly", 31, dt.datetime(2026, 3, 31, 10, 30)),
    (dt.datetime(2026, 11, 30), "quarterly", None, dt.datetime(2027, 2, 28)),
    (dt.datetime(2026, 12, 2), "quarterly", None, dt.datetime(2027, 3, 2)),
    (dt.datetime(2028, 2, 29), "yearly", None, dt.datetime(2029, 2, 28)),
    (dt.datetime(2026, 12, 31), "monthly", None, dt.datetime(2027, 1, 31)),
])
def test_given_a_start_when_a_period_is_added_then_calendar_months_with_the_day_clamped(
        start, period, day, end):
    assert add_period(start, period, day) == end


def test_given_an_anchor_day_when_periods_follow_each_other_then_they_return_to_it():
    ends, start = [], T
    for _ in range(4):
        start = add_period(start, "monthly", T.day)
        ends.append(start.date())
    assert ends == [dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30),
                    dt.date(2026, 5, 31)]


def test_given_an_unknown_period_then_value_error():
    with pytest.raises(ValueError):
        add_period(T, "weekly")
    assert add_months(T, -1) == dt.datetime(2025, 12, 31, 10, 30)


@pytest.mark.parametrize("over, when, policy, decision", [
    (False, None, "refuse", "now"),
    (False, None, "next_renewal", "now"),  # the policy speaks only for over-limit changes
    (False, "now", "next_renewal", "now"),
    (False, "next_renewal", "refuse", "next_renewal"),
    (True, None, "refuse", "refuse"),
    (True, "next_renewal", "refuse", "refuse"),  # the provider's policy decides
    (True, None, "next_renewal", "next_renewal"),
    (True, "next_renewal", "next_renewal", "next_renewal"),
    (True, "now", "next_renewal", "refuse"),  # never below usage at once
])
def test_given_a_package_change_then_the_decision_follows_usage_when_and_policy(
        over, when, policy, decision):
    assert decide_change(over, when, policy) == decision


def _pkg(**fields):
    base = dict(name="p", billing_model="subscription", period="monthly", price=Decimal("10"),
                free_credit=Decimal("0"), free_minutes=0, free_rollover="reset",
                included_minutes=0, included_messages=0, included_pages=0, included_emails=0,
                channel_limit=10, max_users=5, max_agents=5, max_campaigns=5, max_contacts=100,
                disk_quota_mb=100, features="sms fax")
    return Package(**{**base, **fields})


def test_given_a_subscription_package_then_a_period_grants_free_credit_and_minutes_only():
    pkg = _pkg(free_credit=Decimal("5"), free_minutes=30, included_minutes=100,
               included_messages=50)
    assert period_grants(pkg) == [Grant("money", amount=Decimal("5.0000")),
                                  Grant("minutes", seconds=1800)]


def test_given_a_usage_package_then_a_period_grants_included_minutes_and_units_too():
    pkg = _pkg(billing_model="usage", free_minutes=10, included_minutes=100,
               included_messages=50, included_pages=20, included_emails=1000)
    assert period_grants(pkg) == [
        Grant("minutes", seconds=600), Grant("minutes", seconds=6000, included=True),
        Grant("sms", units=50, included=True), Grant("fax", units=20, included=True),
        Grant("email", units=1000, included=True)]


@pytest.mark.parametrize("model", ["payg", "topup"])
def test_given_payg_or_topup_then_a_period_grants_nothing(model):
    assert period_grants(_pkg(billing_model=model, free_credit=Decimal("5"),
                              included_messages=9)) == []


def test_given_keep_or_reset_then_grants_expire_at_the_period_end_or_never():
    end = dt.datetime(2026, 3, 1)
    assert grant_expiry(Grant("money", amount=Decimal(1)), "reset", end) == end
    assert grant_expiry(Grant("money", amount=Decimal(1)), "keep", end) is None
    assert grant_expiry(Grant("sms", units=1, included=True), "keep", end) == end


def test_given_a_renewal_then_reset_and_included_grants_end_keep_grants_stay():
    start, early, late = dt.datetime(2026, 3, 1), dt.datetime(2026, 2, 25), dt.datetime(2026, 3, 4)
    assert expiry_on_renewal("keep", False, start, early) is None
    assert expiry_on_renewal("keep", True, start, early) == start  # included: always reset
    assert expiry_on_renewal("reset", False, start, early) == start  # usable to its own end
    assert expiry_on_renewal("reset", False, start, late) == late  # a late renewal: now


def test_given_lower_limits_or_fewer_features_then_it_is_a_downgrade():
    old = _pkg()
    assert not is_downgrade(old, _pkg(max_users=10))
    assert is_downgrade(old, _pkg(max_users=4))
    assert is_downgrade(old, _pkg(channel_limit=2))
    assert is_downgrade(old, _pkg(features="sms"))


def test_given_billed_seconds_then_minutes_round_up_once():
    assert [minutes_of(s) for s in (0, 1, 60, 61, 119, 3600)] == [0, 1, 1, 2, 2, 60]


def test_given_the_errors_then_codes_and_statuses_are_stable():
    refused = errors.DowngradeRefused("Basic", {"max_users": "Package Basic allows 5 users."})
    assert (refused.code, refused.status, refused.over) == (
        "downgrade-refused", 409, {"max_users": "Package Basic allows 5 users."})
    assert isinstance(refused, errors.SubscriptionError)
    assert (errors.PackageError("x").code, errors.PackageError("x").status) == ("invalid-package", 422)
    assert (errors.SubscriptionError("x").code, errors.NoSubscription().status) == (
        "subscription-refused", 404)
