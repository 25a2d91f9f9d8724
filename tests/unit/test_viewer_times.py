"""Dates and times on the portal's pages are in the viewer's time zone (their own, else their
tenant's) with the zone shown, never bare UTC."""
from __future__ import annotations

import datetime as dt

from models import Call, Campaign, DncNumber, Tenant, User
from models.entities import ApiKey

WINTER = dt.datetime(2026, 1, 15, 12, 30, 5)  # stored naive UTC: 13:30:05 CET in Berlin
SUMMER = dt.datetime(2026, 7, 15, 12, 30, 5)  # 14:30:05 CEST


def _berlin(app):
    master = Tenant.get(Tenant.slug == "master")
    master.timezone = "Europe/Berlin"
    master.save()
    return master


def test_given_a_berlin_tenant_then_its_pages_show_local_times_with_the_zone(app, auth, client):
    master = _berlin(app)
    DncNumber.create(tenant=master, phone="+12025550177", source="manual", created_at=WINTER)
    campaign = Campaign.create(tenant=master, name="Times", started_at=SUMMER,
                               finished_at=WINTER)
    Call.create(tenant=master, campaign=campaign, number="+12025550178",
                channel_id="times-1", started_at=WINTER)
    auth.login()
    dnc = client.get("/dnc/").get_data(as_text=True)
    assert "2026-01-15 13:30 CET" in dnc and "12:30" not in dnc
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "2026-07-15 14:30:05 CEST" in detail and "2026-01-15 13:30:05 CET" in detail
    assert " UTC" not in detail
    dashboard = client.get("/dashboard/").get_data(as_text=True)
    assert "2026-01-15 13:30:05 CET" in dashboard


def test_given_a_user_with_their_own_zone_then_it_wins_over_the_tenant_zone(
        app, auth, client, make_tenant):
    _berlin(app)
    tenant, user = make_tenant("nyc", timezone="Europe/Berlin")
    User.update(timezone="America/New_York").where(User.id == user.id).execute()
    DncNumber.create(tenant=tenant, phone="+12025550179", source="manual", created_at=WINTER)
    auth.login(user.username, f"pw-{user.username}")
    page = client.get("/dnc/").get_data(as_text=True)
    assert "2026-01-15 07:30 EST" in page


def test_given_the_provider_admin_without_a_zone_then_times_are_shown_as_utc(app, auth, client):
    from .conftest import ADMIN_PASSWORD
    ApiKey.create(tenant=None, name="ops", prefix="vx_ops", key_hash="x", created_at=WINTER)
    auth.login("admin", ADMIN_PASSWORD)
    page = client.get("/admin/api-keys").get_data(as_text=True)
    assert "2026-01-15 12:30 UTC" in page


def test_given_a_berlin_tenant_then_the_log_filters_and_shows_its_local_days(app, auth, client):
    from models import TenantLog
    master = _berlin(app)
    late = dt.datetime(2026, 1, 15, 23, 30)  # 16 January, 00:30 in Berlin
    TenantLog.create(tenant=master, username="master", action="zone.check", created_at=late)
    auth.login()
    on_16th = client.get("/log?since=2026-01-16&until=2026-01-16").get_data(as_text=True)
    assert "zone.check" in on_16th and "2026-01-16 00:30:00 CET" in on_16th
    on_15th = client.get("/log?since=2026-01-15&until=2026-01-15&action=zone"
                         ).get_data(as_text=True)
    assert "2026-01-16 00:30:00" not in on_15th
