"""The live campaign views: the Asterisk banner really hides, the list and detail pages carry
what static/live.js needs, and times read as a person would write them."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from models import Campaign, Contact, ContactGroup, Tenant

STATIC = Path(__file__).resolve().parents[2] / "webui" / "static"


def _campaign(status="running", **fields):
    master = Tenant.get(Tenant.slug == "master")
    group = ContactGroup.create(tenant=master, name="Live group")
    Contact.create(tenant=master, group=group, phone="+12025550101")
    return Campaign.create(tenant=master, name="Live one", group=group, status=status, **fields)


def test_hidden_attribute_wins_over_display_rules():
    # The banner is <p class="flash error" hidden>; .error sets display: block.
    css = (STATIC / "style.css").read_text()
    assert re.search(r"\[hidden\]\s*\{\s*display:\s*none\s*!important", css)


def test_list_rows_carry_their_status_for_reload_on_change(auth):
    auth.login()
    campaign = _campaign()
    html = auth.client.get("/campaigns/").get_data(as_text=True)
    assert f'data-id="{campaign.id}" data-status="running"' in html
    assert "live.js" in html


def test_detail_polls_and_embeds_its_progress(auth):
    auth.login()
    campaign = _campaign(started_at=dt.datetime(2026, 5, 4, 10, 11, 12, 345678),
                         finished_at=dt.datetime(2026, 5, 4, 10, 20, 0, 1))
    html = auth.client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="campaign-live"' in html and "live.js" in html
    progress = json.loads(re.search(r"data-progress='([^']*)'", html).group(1))
    assert progress["status"] == "running" and progress["total"] == 1
    assert "2026-05-04 10:11:12 UTC" in html and "345678" not in html
    assert "2026-05-04 10:20:00 UTC" in html


def test_detail_of_a_draft_says_not_started(auth):
    auth.login()
    campaign = _campaign(status="draft")
    html = auth.client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "not yet" in html and "Finished" not in html
