"""Feature permissions (admin page, decorator, nav) and capability quotas (check, usage)."""
from __future__ import annotations

import pytest

from models import Campaign, Tenant, TenantLog, User
from models.entities import FEATURES
from voxcast.tenants import quotas

from .conftest import ADMIN_PASSWORD


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def test_admin_unchecks_voice_message_and_campaigns_are_refused(auth, app, master):
    auth.login("admin", ADMIN_PASSWORD)
    page = text(auth.client.get(f"/admin/tenants/{master.id}/features"))
    assert all(f'value="{name}"' in page for name in FEATURES)
    # the campaign pages need some kind of campaign (an SMS-only plan has them): drop all
    campaign_kinds = {"voice_message", "voice_interactive", "voice_ivr", "voice_survey",
                      "appointment_reminder", "agents", "sms", "fax", "email"}
    keep = [f for f in FEATURES if f not in campaign_kinds]
    resp = auth.post(f"/admin/tenants/{master.id}/features", {"features": keep})
    assert resp.status_code == 302
    assert not Tenant.get_by_id(master.id).has_feature("voice_message")
    assert TenantLog.get(TenantLog.action == "tenant.features").tenant_id == master.id
    auth.logout()

    auth.login()
    resp = auth.client.get("/campaigns/")
    assert resp.status_code == 403 and "Voice message campaigns" in text(resp)
    assert auth.client.get("/campaigns/new").status_code == 403
    page = text(auth.client.get("/contacts/"))
    assert 'href="/campaigns/"' not in page  # the nav hides it


def test_unknown_feature_is_refused(auth, master):
    auth.login("admin", ADMIN_PASSWORD)
    resp = auth.post(f"/admin/tenants/{master.id}/features", {"features": ["teleport"]})
    assert resp.status_code == 400 and "Unknown feature" in text(resp)
    assert Tenant.get_by_id(master.id).features == " ".join(FEATURES)


def test_quota_check_message_and_usage(app, make_tenant, settings):
    tenant, _ = make_tenant("acme", role="agent", username="a1")
    Tenant.update(max_agents=1).where(Tenant.id == tenant.id).execute()
    tenant = Tenant.get_by_id(tenant.id)
    with pytest.raises(quotas.QuotaExceeded) as exc:
        quotas.check(tenant, "agents")
    assert str(exc.value) == "Your plan allows 1 agents; you have 1."
    quotas.check(tenant, "users")  # agents do not count as users
    campaign = Campaign.create(tenant=tenant, name="C")
    settings.sounds_dir.mkdir(parents=True, exist_ok=True)
    (settings.sounds_dir / f"campaign-{campaign.id}.wav").write_bytes(b"x" * 1024 * 1024)
    rows = {u.kind: u for u in quotas.usage(tenant, settings.sounds_dir)}
    assert rows["agents"].used == 1 and rows["agents"].percent == 100
    assert rows["campaigns"].used == 1 and rows["disk_mb"].used == pytest.approx(1.0)
    Tenant.update(disk_quota_mb=1).where(Tenant.id == tenant.id).execute()
    with pytest.raises(quotas.QuotaExceeded, match="allows 1 MB of storage"):
        quotas.check(Tenant.get_by_id(tenant.id), "disk_mb", adding=0.5,
                     sounds_dir=settings.sounds_dir)


def test_admin_edits_quotas_and_sees_usage(auth, master):
    auth.login("admin", ADMIN_PASSWORD)
    form = {"max_users": "3", "max_agents": "2", "max_campaigns": "1", "max_contacts": "10",
            "channel_limit": "5", "disk_quota_mb": "50", "sms_per_second": "4",
            "email_per_hour": "250"}
    assert auth.post(f"/admin/tenants/{master.id}/quotas", form).status_code == 302
    master = Tenant.get_by_id(master.id)
    assert (master.max_users, master.max_agents, master.max_campaigns, master.max_contacts,
            master.channel_limit, master.disk_quota_mb, master.sms_per_second,
            master.email_per_hour) == (3, 2, 1, 10, 5, 50, 4, 250)
    page = text(auth.client.get(f"/admin/tenants/{master.id}/usage"))
    assert "<meter" in page and 'data-kind="users"' in page and 'data-kind="disk_mb"' in page
    resp = auth.post(f"/admin/tenants/{master.id}/quotas", dict(form, max_agents="-1"))
    assert resp.status_code == 400
    assert Tenant.get_by_id(master.id).max_agents == 2


def test_campaign_creation_stops_at_the_quota(auth, master, make_group):
    group = make_group(master, phones=["+12025550100"])
    Tenant.update(max_campaigns=1).where(Tenant.id == master.id).execute()
    Campaign.create(tenant=master, name="Existing", group=group)
    auth.login()
    resp = auth.post("/campaigns/new", {"name": "Second", "group": str(group.id),
                                        "message_text": "hello", "channel_limit": "1",
                                        "dial_timeout": "30", "retry_busy": "0",
                                        "retry_noanswer": "0", "retry_failed": "0",
                                        "retry_interval": "300"})
    assert resp.status_code == 400
    assert "Your plan allows 1 campaigns; you have 1." in text(resp)
    assert Campaign.select().where(Campaign.tenant == master).count() == 1
