"""The running period of a subscription paid ahead (voxcast.packages.periods.running_period)."""
import datetime as dt

from voxcast.packages.periods import running_period

D = dt.datetime


def test_given_a_period_that_has_begun_then_it_is_the_running_one():
    assert running_period(D(2026, 12, 3, 10), D(2027, 1, 3, 10), "monthly", D(2026, 12, 20)) \
        == (D(2026, 12, 3, 10), D(2027, 1, 3, 10))


def test_given_a_renewal_ahead_of_time_then_the_period_before_it_is_running():
    assert running_period(D(2027, 1, 3, 10), D(2027, 2, 3, 10), "monthly", D(2026, 12, 20),
                          day=3, first=D(2026, 12, 3, 10)) == (D(2026, 12, 3, 10),
                                                               D(2027, 1, 3, 10))


def test_given_two_periods_paid_ahead_then_it_steps_back_twice_and_keeps_the_anchor_day():
    assert running_period(D(2027, 3, 31), D(2027, 4, 30), "monthly", D(2027, 2, 10),
                          day=31, first=D(2027, 1, 31)) == (D(2027, 1, 31), D(2027, 2, 28))


def test_given_the_first_period_not_begun_then_it_is_still_the_one_shown():
    assert running_period(D(2027, 1, 1), D(2027, 4, 1), "quarterly", D(2026, 12, 1),
                          first=D(2027, 1, 1)) == (D(2027, 1, 1), D(2027, 4, 1))
