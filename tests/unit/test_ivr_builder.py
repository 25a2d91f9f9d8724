"""The IVR builder's server side (issue 17 item 1): the validator's errors sorted by node, the
live check of a draft (the same checks as saving, against the tenant's own extensions, queues
and prompts; CSRF-protected; another tenant's IVR 404), duplicate, the read-only view of an
IVR in use, and the pickers, which list only the tenant's own things. The browser half is
tests/integration/test_ivr_builder_browser.py."""
from __future__ import annotations

import html
import json

import pytest

from models import Campaign, Did, Extension, Tenant, TenantLog
from models.entities import Ivr, Prompt, Queue
from voxcast.ivr import services as flow_service
from voxcast.ivr import tree as ivr

GOOD = {"start": "a", "nodes": {"a": {"type": "menu", "text": "Press 1",
                                      "options": {"1": "b"}},
                                "b": {"type": "hangup", "text": "Bye"}}}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def _token(auth, url: str = "/ivrs/new") -> str:
    return auth.token(url)


def _check(auth, body, url: str = "/ivrs/check", token: str | None = None):
    token = _token(auth) if token is None else token
    return auth.client.post(url, json=body, headers={"X-CSRFToken": token})


def _config(page: str) -> dict:
    start = page.index("data-config='") + len("data-config='")
    return json.loads(html.unescape(page[start:page.index("'", start)]))


def test_locate_puts_each_error_on_its_node_and_the_rest_on_the_tree():
    tree = {"start": "a", "nodes": {"a": {"type": "say", "text": "x {nick}"},
                                    "b": {"type": "menu", "text": "y", "options": {"x": "a"}},
                                    "c": {"type": "transfer"}}}
    with pytest.raises(ivr.IvrError) as exc:
        ivr.validate(tree)
    general, by_node = ivr.locate(exc.value.errors, tree)
    assert general == []
    assert by_node["a"] == ["unknown placeholder {nick} (known: custom1, custom2, custom3, "
                            "custom4, custom5, custom6, custom7, custom8, email, first_name, "
                            "last_name, phone)"]
    assert by_node["b"] == ["option 'x' is not a phone key (0-9, *, #)"]
    assert by_node["c"][0].startswith("'target' needs a kind")
    # the graph's errors name several nodes: each of them gets it
    loop = {"start": "a", "nodes": {"a": {"type": "say", "text": "x", "next": "b"},
                                    "b": {"type": "say", "text": "y", "next": "a"},
                                    "c": {"type": "hangup"}}}
    with pytest.raises(ivr.IvrError) as exc:
        ivr.validate(loop)
    general, by_node = ivr.locate(exc.value.errors, loop)
    assert general == [] and by_node["c"] == ["unreachable from the start"]
    assert by_node["a"] == by_node["b"] == [
        "loop without a node that waits for the caller: a -> b -> a"]
    # and what concerns the whole tree stays there
    with pytest.raises(ivr.IvrError) as exc:
        ivr.validate({"start": "zz", "nodes": {"a": {"type": "hangup"}}})
    general, by_node = ivr.locate(exc.value.errors, {"nodes": {"a": {}}})
    assert general == ["'start' must name one of the nodes (got 'zz')"] and by_node == {}


def test_every_error_of_a_node_is_located_on_it():
    """Whatever validate says about a node starts with its name, so locate finds it."""
    broken = {"type": "menu", "sound": "a b", "text": "", "options": {}, "timeout": 0,
              "retries": 99, "store_as": "X"}
    tree = {"start": "n", "nodes": {"n": broken, "m": {"type": "branch"},
                                    "o": {"type": "get_digits", "var": "phone"},
                                    "p": {"type": "set_field", "field": "phone", "value": 1},
                                    "q": {"type": "record", "beep": "yes", "max_seconds": 0},
                                    "r": {"type": "set_result", "result": "NO"},
                                    "s": {"type": "nope"}, "t": "x",
                                    "bad id!": {"type": "hangup"}}}
    with pytest.raises(ivr.IvrError) as exc:
        ivr.validate(tree)
    general, by_node = ivr.locate(exc.value.errors, tree)
    assert general == []
    assert sum(len(v) for v in by_node.values()) == len(exc.value.errors)
    assert set(by_node) == set(tree["nodes"])


def test_check_answers_the_servers_errors_per_node_and_field(auth, master):
    auth.login()
    resp = _check(auth, {"tree": GOOD, "name": "Main", "number": ""})
    assert resp.status_code == 200
    assert resp.json == {"ok": True, "errors": [], "nodes": {}, "fields": {}}
    bad = {"start": "a", "nodes": {"a": {"type": "menu", "text": "Hi {nick}", "options": {}}}}
    resp = _check(auth, {"tree": bad, "name": "", "number": "112"})
    body = resp.json
    assert body["ok"] is False and body["errors"] == []
    assert "'options' must map at least one key to a node" in body["nodes"]["a"]
    assert any("unknown placeholder {nick}" in e for e in body["nodes"]["a"])
    assert body["fields"] == {"name": ["the name must be 1 to 100 characters"],
                              "number": ["112 is an emergency or service number"]}
    # the draft as text (the advanced view while it is not JSON)
    resp = _check(auth, {"tree": '{"start": '})
    assert resp.json["ok"] is False and resp.json["errors"][0].startswith("not valid JSON")
    assert Ivr.select().count() == 0  # nothing is saved by a check


def test_check_asks_about_the_tenants_own_extensions_queues_and_prompts(auth, master,
                                                                        make_tenant):
    other, _ = make_tenant("acme")
    Extension.create(number="5601", secret="x", tenant=master)
    Extension.create(number="5602", secret="x", tenant=other)
    mine = Queue.create(tenant=master, name="Mine")
    theirs = Queue.create(tenant=other, name="Theirs")
    Prompt.create(tenant=master, name="Hello", sound="prompt-mine")
    Prompt.create(tenant=other, name="Secret", sound="prompt-theirs")
    tree = {"start": "a", "nodes": {
        "a": {"type": "play", "sound": "prompt-theirs", "next": "b"},
        "b": {"type": "menu", "sound": "prompt-mine",
              "options": {"1": "c", "2": "d", "3": "e", "4": "f"}},
        "c": {"type": "transfer", "target": {"kind": "extension", "value": "5602"}},
        "d": {"type": "transfer", "target": {"kind": "agents", "value": ["5601", "5602"]}},
        "e": {"type": "transfer", "target": {"kind": "queue", "value": theirs.id}},
        "f": {"type": "transfer", "target": {"kind": "queue", "value": mine.id}}}}
    auth.login()
    body = _check(auth, {"tree": tree}).json
    assert set(body["nodes"]) == {"a", "c", "d", "e"}
    assert body["nodes"]["a"][0].startswith("sound 'prompt-theirs' is not one of your sounds")
    assert body["nodes"]["c"] == body["nodes"]["d"] == [
        "extension 5602 is not one of your extensions"]
    assert body["nodes"]["e"] == [f"queue {theirs.id} is not one of your queues"]
    # the same tree is refused on save for the same reasons
    with pytest.raises(flow_service.FlowServiceError):
        flow_service.save_ivr(master.id, "X", tree)


def test_check_is_csrf_protected_and_scoped_to_the_tenants_ivrs(auth, master, make_tenant):
    other, _ = make_tenant("acme")
    theirs = flow_service.save_ivr(other.id, "Theirs", GOOD)
    mine = flow_service.save_ivr(master.id, "Mine", GOOD)
    auth.login()
    assert auth.client.post("/ivrs/check", json={"tree": GOOD}).status_code == 400
    assert _check(auth, {"tree": GOOD}, token="forged").status_code == 400
    assert _check(auth, {"tree": GOOD}, url=f"/ivrs/{theirs.id}/check").status_code == 404
    assert _check(auth, {"nope": 1}).status_code == 400
    # its own name is not a clash with itself; another IVR's is
    resp = _check(auth, {"tree": GOOD, "name": "mine"}, url=f"/ivrs/{mine.id}/check")
    assert resp.json["ok"] is True
    resp = _check(auth, {"tree": GOOD, "name": "mine"})
    assert resp.json["fields"] == {"name": ["an IVR named 'mine' already exists"]}
    # another tenant's names are not ours to clash with
    assert _check(auth, {"tree": GOOD, "name": "Theirs"}).json["ok"] is True


def test_the_builder_page_carries_only_the_tenants_own_choices(auth, master, make_tenant):
    other, _ = make_tenant("acme")
    Extension.create(number="5701", secret="x", tenant=master)
    Extension.create(number="5702", secret="x", tenant=other)
    Queue.create(tenant=master, name="Sales line")
    Queue.create(tenant=other, name="Their secret line")
    Prompt.create(tenant=master, name="Hello", sound="prompt-mine", seconds=1.5)
    Prompt.create(tenant=other, name="Secret prompt", sound="prompt-theirs")
    auth.login()
    page = auth.client.get("/ivrs/new").get_data(as_text=True)
    config = _config(page)
    choices = config["choices"]
    assert [e["number"] for e in choices["extensions"]] == ["5701"]
    assert [q["name"] for q in choices["queues"]] == ["Sales line"]
    assert [(p["name"], p["sound"], p["seconds"]) for p in choices["prompts"]] == [
        ("Hello", "prompt-mine", 1.5)]
    assert "Their secret line" not in page and "5702" not in page and "prompt-theirs" not in page
    assert config["check"] == "/ivrs/check" and config["readonly"] is False
    assert config["types"] == list(ivr.NODE_TYPES)
    # a new IVR starts with one greeting, valid as it is
    start = page.index('name="tree"')
    textarea = page[start:page.index("</textarea>", start)]
    tree = json.loads(html.unescape(textarea.split(">", 1)[1]))
    assert ivr.validate(tree) == {"start": "welcome", "nodes": {
        "welcome": {"type": "say", "text": "Welcome."}}}


def test_an_ivr_in_use_opens_read_only_until_edit_is_asked_for(auth, master, make_group):
    row = flow_service.save_ivr(master.id, "Used", GOOD)
    Did.create(number="15557771234", tenant=master, route="ivr", ivr=row)
    auth.login()
    page = auth.client.get(f"/ivrs/{row.id}").get_data(as_text=True)
    assert _config(page)["readonly"] is True
    assert "Used by: DID 15557771234" in page and 'id="ivr-edit-anyway"' in page
    assert 'id="ivr-save"' not in page and "Delete this IVR" not in page
    assert 'id="ivr-duplicate"' in page
    page = auth.client.get(f"/ivrs/{row.id}?edit=1").get_data(as_text=True)
    assert _config(page)["readonly"] is False and 'id="ivr-save"' in page
    assert _config(page)["check"] == f"/ivrs/{row.id}/check"
    # saving it on purpose works, and comes back to the editable view
    changed = json.loads(json.dumps(GOOD))
    changed["nodes"]["b"]["text"] = "Goodbye"
    resp = auth.post(f"/ivrs/{row.id}?edit=1", {"name": "Used", "number": "",
                                                "tree": json.dumps(changed)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/ivrs/{row.id}?edit=1")
    assert json.loads(Ivr.get_by_id(row.id).tree) == changed
    # not in use: editable at once
    free = flow_service.save_ivr(master.id, "Free", GOOD)
    page = auth.client.get(f"/ivrs/{free.id}").get_data(as_text=True)
    assert _config(page)["readonly"] is False and "Delete this IVR" in page


def test_duplicate_copies_the_tree_under_a_new_name_without_the_number(auth, master,
                                                                       make_group, make_tenant):
    row = flow_service.save_ivr(master.id, "Front", GOOD, number="455")
    Campaign.create(tenant=master, name="Uses it", type="voice_ivr", ivr=row,
                    group=make_group(master, phones=["+12025550101"]))
    auth.login()
    resp = auth.post(f"/ivrs/{row.id}/duplicate")
    copy = Ivr.get(Ivr.name == "Front (copy)")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/ivrs/{copy.id}")
    assert copy.tenant_id == master.id and copy.tree == row.tree and copy.number == ""
    auth.post(f"/ivrs/{row.id}/duplicate")
    assert Ivr.get_or_none(Ivr.name == "Front (copy 2)") is not None
    assert TenantLog.select().where(TenantLog.action == "ivr.create").count() == 3
    other, _ = make_tenant("acme")
    theirs = flow_service.save_ivr(other.id, "Theirs", GOOD)
    assert auth.post(f"/ivrs/{theirs.id}/duplicate").status_code == 404
    assert Ivr.select().where(Ivr.tenant == other.id).count() == 1


def test_the_builder_speaks_the_users_language(auth, master):
    from models import User
    User.update(language="de").where(User.username == "master").execute()
    auth.login()
    page = auth.client.get("/ivrs/new").get_data(as_text=True)
    start = page.index("data-texts='") + len("data-texts='")
    texts = json.loads(html.unescape(page[start:page.index("'", start)]))
    assert texts["add"] == "Knoten hinzufügen" and texts["types"]["menu"] == "Menü"
    assert "Erweitert: der Baum als JSON" in page
    start = page.index('name="tree"')
    tree = json.loads(html.unescape(page[start:page.index("</textarea>", start)].split(">", 1)[1]))
    assert tree["nodes"]["welcome"]["text"] == "Willkommen."
