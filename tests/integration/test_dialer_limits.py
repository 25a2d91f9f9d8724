"""Pacing through the real Asterisk: a tenant's channel limit across all its campaigns, and the
provider's calls-per-second cap, read from what the called party (sipp) saw."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from models import Call, Tenant, Timeslot
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp

CPS = 4


def _max_overlap(intervals):
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = cur = 0
    for _, step in points:
        cur += step
        best = max(best, cur)
    return best


@pytest.fixture
def slow_app(stasis_app):
    """The Stasis app restarted with VOXCAST_MAX_CPS lowered, and back to normal afterwards."""
    os.environ["VOXCAST_MAX_CPS"] = str(CPS)
    stasis_app.stop()
    stasis_app.start()
    yield stasis_app
    del os.environ["VOXCAST_MAX_CPS"]
    stasis_app.stop()
    stasis_app.start()


def _tenant(name: str, limit: int) -> Tenant:
    return Tenant.create(name=name, slug=name, channel_limit=limit)


def test_given_three_campaigns_over_the_tenant_limit_then_limit_and_cps_hold(
        slow_app, settings, workdir):
    tenant = _tenant(f"limits-{os.getpid()}", 3)
    campaigns = [make_campaign(tenant, settings, unique_phones(5), channel_limit=2,
                               text="Hello from voxcast, this is a test.") for _ in range(3)]
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=15).start()
    try:
        for campaign in campaigns:
            campaign_service.start(campaign, settings)
        wait_for(lambda: all(reload(c).status == "completed" for c in campaigns), 90,
                 message="campaigns completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    calls = list(Call.select().where(Call.campaign.in_([c.id for c in campaigns])))
    assert len(calls) == 15 and {c.disposition for c in calls} == {"ANSWERED"}

    invites, spans = [], []
    for msgs in uas.dialogs().values():
        invite = next(m for m in msgs if m.method == "INVITE" and not m.sent)
        bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
        invites.append(invite.at)
        spans.append((invite.at, bye.at))
    # the tenant's 3 channels held at every moment, though its campaigns allow 2 + 2 + 2
    assert _max_overlap(spans) == 3
    # calls-per-second cap: within any second at most CPS plus the bucket's burst of 1
    invites.sort()
    for i, start in enumerate(invites):
        in_window = [t for t in invites[i:] if t < start + dt.timedelta(seconds=1)]
        assert len(in_window) <= CPS + 1, (start, in_window)


def test_given_closed_calling_window_then_nothing_dialed_until_it_opens(
        stasis_app, settings, workdir):
    tenant = _tenant(f"hours-{os.getpid()}", 5)
    # a window that is closed all day today (in UTC, the tenant's zone)
    today = str(dt.datetime.utcnow().weekday())
    other_days = "".join(d for d in "0123456" if d != today)
    slot = Timeslot.create(tenant=tenant, weekdays=other_days, start_time="00:00",
                           end_time="23:59")
    campaign = make_campaign(tenant, settings, unique_phones(2))
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status_reason.startswith("Outside calling hours"), 15,
                 message="campaign waiting for its window")
        assert "resumes at" in reload(campaign).status_reason
        assert Call.select().where(Call.campaign == campaign).count() == 0
        assert reload(campaign).status == "running"  # waiting, not paused: resumes by itself
        Timeslot.update(weekdays="0123456").where(Timeslot.id == slot.id).execute()
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    assert Call.select().where(Call.campaign == campaign, Call.disposition == "ANSWERED").count() == 2
    assert reload(campaign).status_reason == ""
