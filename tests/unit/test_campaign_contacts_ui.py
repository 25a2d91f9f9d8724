"""Portal pages of the dialer's state: a campaign's contacts (state, attempts, filter) and
call recordings on the CDR page (played and downloaded, tenant-scoped)."""
from __future__ import annotations

from models import Call, Campaign, CampaignContact, Contact, Tenant


def test_campaign_contacts_page_and_recording_download(client, auth, settings, make_group):
    """Contacts page lists state/attempts and filters; a CDR's recording downloads for its
    tenant (the isolation walk covers another tenant's call id)."""
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, phones=["+12025550101", "+12025550102"])
    campaign = Campaign.create(tenant=master, name="rec", group=group)
    for i, contact in enumerate(Contact.select().where(Contact.group == group)):
        CampaignContact.create(tenant=master, campaign=campaign, contact=contact,
                               phone=contact.phone, state=["done", "pending"][i], attempts=1 - i,
                               last_disposition=["MACHINE", ""][i])
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    call = Call.create(tenant=master, campaign=campaign, number="+12025550101", channel_id="rec-1",
                       recording=f"{master.id}-999999.wav")
    (settings.recordings_dir / call.recording).write_bytes(b"RIFF" + b"\0" * 40)
    auth.login("master")
    page = client.get(f"/campaigns/{campaign.id}/contacts")
    assert page.status_code == 200 and b"+12025550102" in page.data and b"MACHINE" in page.data
    done = client.get(f"/campaigns/{campaign.id}/contacts?state=done")
    assert b"+12025550101" in done.data and b"+12025550102" not in done.data
    assert b"Download recording" in client.get("/cdrs/").data
    got = client.get(f"/cdrs/{call.id}/recording?download=1")
    assert got.status_code == 200 and got.data.startswith(b"RIFF")
    assert "attachment" in got.headers["Content-Disposition"]
    (settings.recordings_dir / call.recording).unlink()


def test_campaign_form_sets_amd_recording_and_calling_hours(auth, make_group, settings):
    from .test_webui import CAMPAIGN_FORM
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    form = {**CAMPAIGN_FORM, "group": str(group.id), "message_text": "Hello.",
            "amd_enabled": "y", "amd_action": "leave_message", "record": "y",
            "retry_machine": "1", "windows": "Mon-Fri 09:00-17:00, Sat 10:00-13:00"}
    bad = auth.post("/campaigns/new", {**form, "windows": "Mon 17:00-09:00"})
    assert bad.status_code == 400 and not Campaign.select().where(
        Campaign.name == CAMPAIGN_FORM["name"]).exists()
    assert auth.post("/campaigns/new", form).status_code == 302
    campaign = Campaign.get(Campaign.name == CAMPAIGN_FORM["name"])
    assert (campaign.amd_enabled, campaign.amd_action, campaign.record, campaign.retry_machine) \
        == (True, "leave_message", True, 1)
    assert '"weekdays": "01234"' in campaign.windows
    edit = auth.client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert "Mon-Fri 09:00-17:00, Sat 10:00-13:00" in edit
