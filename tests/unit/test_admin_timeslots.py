"""Calling windows: the pure is_open() and the admin's assignment page."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from models import Tenant, Timeslot
from voxcast.tenants.timeslots import TimeslotError, is_open, validate

from .conftest import ADMIN_PASSWORD

WORKDAYS = SimpleNamespace(weekdays="01234", start_time="09:00", end_time="17:30")


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def test_no_windows_means_always_open():
    assert is_open([], "UTC", utc(2024, 6, 1, 3, 0))


@pytest.mark.parametrize("now, expected", [
    (utc(2024, 6, 3, 7, 0), True),     # Monday 09:00 in Berlin (CEST): start is inclusive
    (utc(2024, 6, 3, 6, 59), False),   # 08:59
    (utc(2024, 6, 3, 15, 29), True),   # 17:29
    (utc(2024, 6, 3, 15, 30), False),  # 17:30: end is exclusive
    (utc(2024, 6, 8, 10, 0), False),   # Saturday
    (utc(2024, 1, 8, 8, 0), True),     # Monday 09:00 in winter (CET, UTC+1)
])
def test_window_in_the_tenants_time_zone(now, expected):
    assert is_open([WORKDAYS], "Europe/Berlin", now) is expected


def test_naive_utc_and_several_windows():
    evening = SimpleNamespace(weekdays="5", start_time="18:00", end_time="20:00")
    assert is_open([WORKDAYS, evening], "UTC", dt.datetime(2024, 6, 8, 19, 0))
    assert not is_open([WORKDAYS, evening], "UTC", dt.datetime(2024, 6, 8, 20, 0))


@pytest.mark.parametrize("days, start, end", [
    ("", "09:00", "10:00"), ("7", "09:00", "10:00"), ("0", "9:00", "10:00"),
    ("0", "24:00", "10:00"), ("0", "10:00", "10:00"), ("0", "11:00", "10:00")])
def test_validate_refuses_bad_windows(days, start, end):
    with pytest.raises(TimeslotError):
        validate(days, start, end)


def test_admin_assigns_and_removes_timeslots(auth, app):
    master = Tenant.get(Tenant.slug == "master")
    auth.login("admin", ADMIN_PASSWORD)
    url = f"/admin/tenants/{master.id}/timeslots"
    resp = auth.post(url, {"name": "Office", "weekdays": ["0", "2"], "start_time": "08:30",
                           "end_time": "12:00"})
    assert resp.status_code == 302
    slot = Timeslot.get(Timeslot.tenant == master)
    assert (slot.weekdays, slot.start_time, slot.end_time) == ("02", "08:30", "12:00")
    resp = auth.post(url, {"name": "Bad", "weekdays": ["1"], "start_time": "18:00",
                           "end_time": "09:00"})
    assert resp.status_code == 400 and "must be before" in resp.get_data(as_text=True)
    resp = auth.post(url, {"name": "Bad", "weekdays": ["1"], "start_time": "9am",
                           "end_time": "10:00"})
    assert resp.status_code == 400 and "HH:MM" in resp.get_data(as_text=True)
    assert Timeslot.select().count() == 1
    page = auth.client.get(url).get_data(as_text=True)
    assert "Office" in page and "Mon, Wed" in page
    assert auth.post(f"{url}/{slot.id}/delete").status_code == 302
    assert Timeslot.select().count() == 0
