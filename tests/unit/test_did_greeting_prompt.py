"""A DID's greeting picked from the tenant's audio library (issue 17): the DID page offers the
tenant's prompts with a player, saves the pick as the prompt's sound name (what the inbound
flow plays), "" goes back to the greeting text, and another tenant's prompt is refused on the
page and in the API (`greeting_prompt_id`, answered on every DID)."""
from __future__ import annotations

import pytest

from models import Did, Tenant
from models.entities import Prompt
from voxcast.audio import library

from .api_support import Api, master_api  # noqa: F401


def _prompt(tenant, name: str) -> Prompt:
    return Prompt.create(tenant=tenant, name=name, sound=library.sound_name(tenant.id),
                         source="tts", text=name, seconds=1)


@pytest.fixture
def acme(app, make_tenant, auth):
    tenant, admin = make_tenant("acme", role="tenant")
    auth.login(admin.username, f"pw-{admin.username}")
    return tenant


def test_given_prompts_when_did_page_then_picker_with_player_and_saved_as_sound(acme, auth,
                                                                               client,
                                                                               make_tenant):
    other, _u = make_tenant("globex")
    welcome = _prompt(acme, "Welcome menu")
    theirs = _prompt(other, "Globex secret")
    did = Did.create(number="15550004441", tenant=acme)
    page = client.get("/dids/").get_data(as_text=True)
    assert 'name="greeting_prompt"' in page and "Welcome menu" in page
    assert "Globex secret" not in page
    assert f'data-audio="/prompts/{welcome.id}/audio"' in page
    assert "prompt_preview.js" in page

    res = auth.post(f"/dids/{did.id}", {"destination": "greeting", "greeting_text": "",
                                         "greeting_prompt": str(welcome.id)},
                    follow_redirects=True)
    assert "DID 15550004441 saved." in res.get_data(as_text=True)
    assert Did.get_by_id(did.id).greeting_file == welcome.sound
    page = client.get("/dids/").get_data(as_text=True)
    assert f'src="/prompts/{welcome.id}/audio"' in page  # the saved one plays without script
    # the library lists the DID among the prompt's uses
    assert [u.kind for u in library.uses(acme.id, [welcome])[welcome.id]] == ["did"]

    res = auth.post(f"/dids/{did.id}", {"destination": "greeting",
                                         "greeting_prompt": str(theirs.id)},
                    follow_redirects=True)
    assert "No such prompt" in res.get_data(as_text=True)
    assert Did.get_by_id(did.id).greeting_file == welcome.sound  # unchanged

    auth.post(f"/dids/{did.id}", {"destination": "greeting", "greeting_prompt": "",
                                   "greeting_text": "Hello."})
    did = Did.get_by_id(did.id)
    assert did.greeting_file == "" and did.greeting_text == "Hello."


def test_a_form_without_the_picker_leaves_the_prompt(acme, auth):
    welcome = _prompt(acme, "Welcome")
    did = Did.create(number="15550004442", tenant=acme, greeting_file=welcome.sound)
    auth.post(f"/dids/{did.id}", {"destination": "greeting", "greeting_text": "x"})
    assert Did.get_by_id(did.id).greeting_file == welcome.sound


def test_api_sets_and_answers_greeting_prompt_id(master_api, make_tenant):
    master = Tenant.get(Tenant.slug == "master")
    other, _u = make_tenant("globex")
    mine, theirs = _prompt(master, "Hello"), _prompt(other, "Theirs")
    did = Did.create(number="15550004443", tenant=master)
    r = master_api.get(f"/api/v1/dids/{did.id}")
    assert r.status_code == 200 and r.get_json()["greeting_prompt_id"] is None
    r = master_api.patch(f"/api/v1/dids/{did.id}", json={"greeting_prompt_id": mine.id})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["greeting_prompt_id"] == mine.id
    assert Did.get_by_id(did.id).greeting_file == mine.sound
    r = master_api.patch(f"/api/v1/dids/{did.id}", json={"greeting_prompt_id": theirs.id})
    assert r.status_code == 422 and "greeting_prompt_id" in str(r.get_json())
    r = master_api.patch(f"/api/v1/dids/{did.id}", json={"greeting_prompt_id": None})
    assert r.get_json()["greeting_prompt_id"] is None and Did.get_by_id(did.id).greeting_file == ""
    # the API stays compatible: greeting_text alone still works and keeps the prompt unset
    r = master_api.patch(f"/api/v1/dids/{did.id}", json={"greeting_text": "Hi"})
    assert r.status_code == 200 and r.get_json()["greeting_text"] == "Hi"
