"""Campaign status changes in one module: causes are codes with params, rendered per
language, and campaigns paused before the upgrade keep resuming."""
from __future__ import annotations

import json

from models import Campaign, Tenant
from models.migrations import m0003_campaign_status_code as m0003
from models.migrations.ops import Ops
from voxcast.campaigns import lifecycle
from voxcast.campaigns.lifecycle import Cause


def _campaign(master, status="running", **fields):
    return Campaign.create(tenant=master, name=f"c-{status}", status=status, **fields)


def test_given_running_when_paused_for_a_cause_then_code_params_and_english_text_stored(db):
    master = Tenant.get(Tenant.slug == "master")
    c = _campaign(master)
    assert lifecycle.pause_for(c.id, Cause("message_missing", {"name": "campaign-9"}))
    c = Campaign.get_by_id(c.id)
    assert (c.status, c.status_code) == ("paused", "message_missing")
    assert json.loads(c.status_params) == {"name": "campaign-9"}
    assert c.status_reason == "Paused: the message audio 'campaign-9' is missing"
    # a second pause, or a note, does not overwrite why it was paused
    assert not lifecycle.pause_for(c.id, Cause("no_credit"))
    lifecycle.note(c.id, None)
    assert Campaign.get_by_id(c.id).status_code == "message_missing"


def test_given_user_paused_campaign_then_auto_resume_for_credit_leaves_it_alone(db):
    master = Tenant.get(Tenant.slug == "master")
    c = _campaign(master)
    assert lifecycle.pause_by_user(c)
    assert not lifecycle.resume_paused(c.id, "no_credit")
    assert Campaign.get_by_id(c.id).status == "paused"
    d = _campaign(master)
    lifecycle.pause_for(d.id, Cause("no_credit"))
    assert [x.id for x in lifecycle.paused_for("no_credit")] == [d.id]
    assert lifecycle.resume_paused(d.id, "no_credit")
    d = Campaign.get_by_id(d.id)
    assert (d.status, d.status_code, d.status_reason) == ("running", "", "")


def test_describe_translates_the_template_then_fills_params():
    german = {"Outside calling hours, resumes at %(when)s (%(zone)s)":
              "Außerhalb der Anrufzeiten, weiter am %(when)s (%(zone)s)"}
    text = lifecycle.describe("closed_until", {"when": "Mon 09:00", "zone": "Europe/Berlin"},
                              lambda s: german.get(s, s))
    assert text == "Außerhalb der Anrufzeiten, weiter am Mon 09:00 (Europe/Berlin)"
    # a broken translation falls back to English instead of raising
    assert lifecycle.describe("closed_until", {"when": "x", "zone": "y"},
                              lambda s: "%(nope)s") == "Outside calling hours, resumes at x (y)"
    assert lifecycle.describe("text", {"text": "an old reason"}) == "an old reason"
    assert lifecycle.describe("", {}) == ""


def test_given_campaign_paused_for_credit_before_upgrade_when_migrated_then_it_resumes(db):
    """m0003 maps the English sentences of before to codes."""
    master = Tenant.get(Tenant.slug == "master")
    for name, reason in (("old", "Paused: no credit left — top up to resume"),
                         ("odd", "odd one")):
        Campaign.create(tenant=master, name=name, status="paused", status_reason=reason)
    m0003.down(Ops(models_db()))  # the rows as the release before left them
    m0003.up(Ops(models_db()))
    by_name = {c.name: c for c in Campaign.select()}
    assert by_name["old"].status_code == "no_credit"
    assert by_name["odd"].status_code == "text"
    assert lifecycle.describe("text", by_name["odd"].status_params) == "odd one"
    assert lifecycle.resume_paused(by_name["old"].id, "no_credit")


def models_db():
    from models import database
    return database


def test_german_tenant_sees_the_pause_cause_in_german(auth, make_tenant, make_group):
    tenant, user = make_tenant("kunde")
    user.language = "de"
    user.save()
    c = Campaign.create(tenant=tenant, name="Winter", group=make_group(tenant), status="running")
    lifecycle.pause_for(c.id, Cause("no_credit"))
    auth.login(user.username, f"pw-{user.username}")
    page = auth.client.get("/campaigns/").get_data(as_text=True)
    assert "Pausiert" in page or "Guthaben" in page, "the cause is shown in German"
    assert "no credit left" not in page
