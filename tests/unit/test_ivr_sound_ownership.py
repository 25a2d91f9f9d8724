"""Security issue 10, finding 3: an IVR plays only audio its tenant owns. All tenants share one
sounds folder and campaign sounds are named campaign-<id>, so a tenant (here master, the
attacker) must not save, through the UI or the API, nor run at call time, an IVR that names
another tenant's (acme's) campaign message."""
from __future__ import annotations

import json

import pytest

from voxcast.ivr import flow_store
from models import Campaign, Did, Tenant
from models.entities import Ivr, utcnow
from voxcast.numbers import did_routes
from voxcast.ivr import services as flow_service
from voxcast.ivr import tree as ivr
from voxcast.campaigns import services as campaign_service

from .api_support import master_api  # noqa: F401


def _tree(sound: str) -> dict:
    return {"start": "a", "nodes": {"a": {"type": "play", "sound": sound, "next": "m"},
                                    "m": {"type": "menu", "sound": sound, "options": {"1": "b"}},
                                    "b": {"type": "hangup"}}}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def sounds_of(settings, make_group, wav):
    """sounds_of(tenant) -> (uploaded sound name, TTS sound name) of two of its campaigns."""
    def make(tenant):
        group = make_group(tenant, name=f"G {tenant.slug}", phones=["+12025550101"])
        up = Campaign.create(tenant=tenant, name=f"Up {tenant.slug}", group=group)
        campaign_service.save_message(up, settings, upload_path=wav)
        spoken = Campaign.create(tenant=tenant, name=f"TTS {tenant.slug}", group=group)
        campaign_service.save_message(spoken, settings, text=f"Secret offer of {tenant.slug}")
        assert (settings.sounds_dir / f"{up.message_file}.wav").exists()
        return up.message_file, spoken.message_file
    return make


def test_ui_refuses_an_ivr_playing_another_tenants_campaign_sound(auth, master, make_tenant,
                                                                  sounds_of):
    victim, _ = make_tenant("acme")
    foreign_sounds = sounds_of(victim)
    auth.login()
    for foreign in foreign_sounds:
        resp = auth.post("/ivrs/new", {"name": "Steal", "tree": json.dumps(_tree(foreign))})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400
        assert f"sound &#39;{foreign}&#39; is not one of your sounds" in body
    assert Ivr.select().count() == 0
    # its own campaign's sound is fine, and an edit to a foreign one changes nothing
    mine, _ = sounds_of(master)
    assert auth.post("/ivrs/new", {"name": "Mine", "tree": json.dumps(_tree(mine))}).status_code == 302
    row = Ivr.get(Ivr.name == "Mine")
    resp = auth.post(f"/ivrs/{row.id}", {"name": "Mine",
                                         "tree": json.dumps(_tree(foreign_sounds[0]))})
    assert resp.status_code == 400 and "is not one of your sounds" in resp.get_data(as_text=True)
    assert json.loads(Ivr.get_by_id(row.id).tree) == _tree(mine)


def test_api_refuses_an_ivr_playing_another_tenants_campaign_sound(master_api, master,
                                                                   make_tenant, sounds_of):
    victim, _ = make_tenant("acme")
    foreign, foreign_tts = sounds_of(victim)
    resp = master_api.post("/api/v1/ivrs", json={"name": "Steal", "tree": _tree(foreign)})
    assert resp.status_code == 422
    assert f"sound '{foreign}' is not one of your sounds" in resp.json["error"]["message"]
    assert Ivr.select().count() == 0
    mine, _ = sounds_of(master)
    resp = master_api.post("/api/v1/ivrs", json={"name": "Mine", "tree": _tree(mine)})
    assert resp.status_code == 201, resp.json
    resp = master_api.patch(f"/api/v1/ivrs/{resp.json['id']}", json={"tree": _tree(foreign_tts)})
    assert resp.status_code == 422
    assert f"sound '{foreign_tts}' is not one of your sounds" in resp.json["error"]["message"]
    assert json.loads(Ivr.get(Ivr.name == "Mine").tree) == _tree(mine)


def test_call_time_refuses_a_stored_ivr_with_a_foreign_sound(master, make_tenant, sounds_of):
    """An IVR stored before the check (written directly here) is refused when a call runs it."""
    victim, _ = make_tenant("acme")
    foreign, _ = sounds_of(victim)
    mine, _ = sounds_of(master)
    bad = Ivr.create(tenant=master, name="Old", tree=ivr.dumps(_tree(foreign)))
    good = Ivr.create(tenant=master, name="Good", tree=ivr.dumps(_tree(mine)))
    did = Did.create(number="15557770111", tenant=master, route="ivr", ivr=bad)

    def run(number: str):
        """What an inbound call to the DID runs (voxcast.numbers.did_routes), now."""
        route = did_routes.find_did(number)
        return did_routes.resolve(route.tenant_id, did_routes.destination(route, utcnow()),
                                  "+4930123", None)
    assert run(did.number) is None  # refused (logged): the caller hears the greeting
    Did.update(ivr=good).where(Did.id == did.id).execute()
    assert run(did.number).tree == _tree(mine)
    # another tenant's IVR on a DID is not run either
    theirs = Ivr.create(tenant=victim, name="Theirs", tree=ivr.dumps(_tree(foreign)))
    Did.update(ivr=theirs).where(Did.id == did.id).execute()
    assert run(did.number) is None
    with pytest.raises(flow_store.ForeignFlowError, match="is not tenant"):
        flow_store.ivr_tree(master.id, theirs.id)
    with pytest.raises(flow_store.ForeignFlowError, match=foreign):
        flow_store.ivr_tree(master.id, bad.id)


def test_foreign_sounds_lists_only_what_the_tenant_does_not_own(master, make_tenant, sounds_of):
    victim, _ = make_tenant("acme")
    foreign, foreign_tts = sounds_of(victim)
    mine, mine_tts = sounds_of(master)
    tree = {"start": "a", "nodes": {
        "a": {"type": "play", "sound": mine, "next": "b"},
        "b": {"type": "play", "sound": mine_tts, "next": "c"},
        "c": {"type": "get_digits", "sound": foreign, "var": "x", "next": "d"},
        "d": {"type": "record", "sound": foreign_tts, "next": "e"},
        "e": {"type": "play", "sound": "campaign-424242"}}}
    assert flow_service.foreign_sounds(master.id, tree) == sorted(
        [foreign, foreign_tts, "campaign-424242"])
    assert flow_service.foreign_sounds(victim.id, tree) == sorted([mine, mine_tts, "campaign-424242"])
