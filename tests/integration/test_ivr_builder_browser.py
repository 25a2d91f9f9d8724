"""The IVR builder (issue 17 items 1, 5 and 8) in Debian's Chromium, served by the real web
process under its strict CSP: every node type loaded into the builder and saved again leaves
the tree unchanged (and the builder's JSON is the tree); errors of the server's validator show
live on the node they concern; an IVR in use opens read-only and duplicates; the builder page
passes axe at desktop and 375-px width and works from the keyboard; and an IVR built with the
builder only (no JSON typed), routed from a DID in the portal, is walked by a sipp caller
through the real Asterisk: key 1 of its menu puts the caller through to a registered sipp
extension."""
from __future__ import annotations

import json
import secrets

from voxcast.accounts.passwords import hash_password

from models import Call, Did, Extension, Tenant, User
from models.entities import Ivr, Queue
from voxcast.audio import library
from voxcast.ivr import services as flow_service
from voxcast.ivr import tree as ivr_tree

from .conftest import wait_for
from .dtmf import write_pcap
from .phones import register, tenant_with_phones
from .sipp import SCENARIOS, Sipp
from .test_accessibility_browser import AXE, _axe

PASSWORD = "Ivr-Builder-Pass-1"
PHONE = {"width": 375, "height": 740}


def _admin(tenant) -> str:
    user = User.create(tenant=tenant, username=f"{tenant.slug}-admin", role="tenant",
                       password_hash=hash_password(PASSWORD))
    return user.username


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_load_state("load")
    assert "/login" not in page.url


def _checked(page, wanted: str = "ok") -> None:
    """Wait for the builder's live check (the server's answer) to say `wanted`."""
    page.wait_for_function(
        "w => { const b = document.getElementById('ivr-builder');"
        " return b && !b.hasAttribute('aria-busy') && b.dataset.checked === w; }",
        arg=wanted, timeout=15000)


def _card(page, node_id: str):
    return page.locator(f"section.ivr-node[data-node='{node_id}']")


def _every_type(extension: str, other: str, queue_id: int, sound: str) -> dict:
    return {"start": "welcome", "nodes": {
        "welcome": {"type": "play", "sound": sound, "next": "main"},
        "main": {"type": "menu", "text": "Hello {first_name}. Sales 1, support 2, account 3.",
                 "options": {"1": "sales", "2": "support", "3": "account", "4": "message",
                             "9": "leave", "0": "desk"},
                 "timeout": 6, "retries": 1, "no_input": "bye", "invalid": "bye",
                 "store_as": "choice"},
        "sales": {"type": "transfer", "target": {"kind": "extension", "value": extension},
                  "ring": 25, "failed": "message"},
        "support": {"type": "transfer", "target": {"kind": "queue", "value": queue_id},
                    "failed": "bye"},
        "desk": {"type": "transfer", "target": {"kind": "agents", "value": [other, extension]},
                 "failed": "outside"},
        "outside": {"type": "transfer", "target": {"kind": "number", "value": "+12025550123"}},
        "account": {"type": "get_digits", "text": "Enter your account number.", "var": "account",
                    "max_digits": 6, "timeout": 4, "next": "check"},
        "check": {"type": "branch", "var": "account", "cases": {"123456": "vip", "000000": "bye"},
                  "default": "note"},
        "vip": {"type": "set_result", "result": "vip", "next": "sales"},
        "note": {"type": "set_field", "field": "custom1", "value": "account {account}",
                 "next": "bye"},
        "message": {"type": "record", "text": "Speak after the tone.", "max_seconds": 30,
                    "beep": False, "next": "bye"},
        "leave": {"type": "opt_out", "next": "said"},
        "said": {"type": "say", "text": "You will not be called again.", "next": "bye"},
        "bye": {"type": "hangup", "text": "Goodbye."}}}


def _tenant_with_things(settings):
    """A tenant with two extensions (rows only: these tests place no call), a queue and a
    prompt of its audio library spoken by TTS."""
    suffix = secrets.randbelow(9000) + 1000
    slug = f"ivrb{secrets.token_hex(3)}"
    tenant = Tenant.create(name=slug, slug=slug)
    numbers = [f"76{suffix}", f"77{suffix}"]
    for number in numbers:
        Extension.create(number=number, secret=secrets.token_urlsafe(12), tenant=tenant)
    queue = Queue.create(tenant=tenant, name="Support line", number=f"6{suffix % 100:02d}")
    prompt = library.speak(tenant.id, "Welcome prompt", "Welcome to the builder test.", settings)
    return tenant, numbers, queue, prompt


def test_given_every_node_type_when_loaded_into_the_builder_and_saved_then_the_tree_is_unchanged(
        browser, web, settings):
    tenant, (ext, other), queue, prompt = _tenant_with_things(settings)
    tree = _every_type(ext, other, queue.id, prompt.sound)
    row = flow_service.save_ivr(tenant.id, "Every type", tree)
    stored = Ivr.get_by_id(row.id).tree
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15000)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        base = web.tenant_url(tenant.slug)
        _login(page, base, _admin(tenant))
        page.goto(f"{base}/ivrs/{row.id}")
        _checked(page, "ok")
        assert page.locator("section.ivr-node").count() == len(tree["nodes"])
        # the builder's JSON is the tree, node for node and key for key
        built = json.loads(page.input_value("textarea[name=tree]"))
        assert built == tree and list(built["nodes"]) == list(tree["nodes"])
        for node_id, node in tree["nodes"].items():
            assert list(built["nodes"][node_id]) == list(node), node_id
        # what the pickers show is the tree's
        assert page.input_value("#ivr-start") == "welcome"
        main = _card(page, "main")
        assert main.locator("select[id$='-key0']").input_value() == "1"
        assert main.locator("select[id$='-key0-to']").input_value() == "sales"
        assert main.locator("select[id$='-exit-no_input']").input_value() == "bye"
        assert _card(page, "sales").locator("select[id$='-extension']").input_value() == ext
        assert _card(page, "support").locator("select[id$='-queue']").input_value() == str(queue.id)
        desk = _card(page, "desk")
        assert desk.locator(f"input[type=checkbox][value='{ext}']").is_checked()
        assert desk.locator(f"input[type=checkbox][value='{other}']").is_checked()
        welcome = _card(page, "welcome")
        assert welcome.locator("select[id$='-sound']").input_value() == prompt.sound
        assert welcome.locator("audio").get_attribute("src") == f"/prompts/{prompt.id}/audio"
        assert not _card(page, "message").locator("input[type=checkbox][id$='-beep']").is_checked()
        # axe on the page with every node type, at desktop width and at 375 px
        assert not _axe(page), _axe(page)
        page.set_viewport_size(PHONE)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() =>"
                      " requestAnimationFrame(r)))")
        assert not _axe(page), _axe(page)
        overflow = page.evaluate("document.documentElement.scrollWidth"
                                 " - document.documentElement.clientWidth")
        assert overflow <= 1, f"the builder scrolls sideways by {overflow}px at 375 px"
        page.set_viewport_size({"width": 1280, "height": 900})
        # arrowing through the types of a menu (each key changes it) and back loses nothing
        page.focus(f"#{_card(page, 'main').locator('select[id$=-type]').get_attribute('id')}")
        for key in ("ArrowDown", "ArrowDown"):
            page.keyboard.press(key)
        assert _card(page, "main").locator("select[id$='-type']").input_value() == "transfer"
        assert "options" not in json.loads(page.input_value("textarea[name=tree]"))["nodes"]["main"]
        for key in ("ArrowUp", "ArrowUp"):
            page.keyboard.press(key)
        assert json.loads(page.input_value("textarea[name=tree]")) == tree
        _checked(page, "ok")
        # saved again without a change: the stored tree is the same text
        page.click("#ivr-save")
        page.wait_for_load_state("load")
        assert page.locator("text=IVR 'Every type' saved.").count() == 1
        assert Ivr.get_by_id(row.id).tree == stored
        assert json.loads(stored) == ivr_tree.validate(tree)
        assert not csp, csp
    finally:
        context.close()


def test_given_a_draft_when_a_node_is_wrong_then_the_servers_error_shows_on_that_node_live(
        page, web, settings):
    tenant, (ext, _), queue, prompt = _tenant_with_things(settings)
    base = web.tenant_url(tenant.slug)
    _login(page, base, _admin(tenant))
    page.goto(f"{base}/ivrs/new")
    page.fill("input[name=name]", "Live check")
    _checked(page, "ok")  # the starter: one greeting
    welcome = _card(page, "welcome")
    welcome.locator("textarea[id$='-text']").fill("Hello {nickname}.")
    _checked(page, "problems")
    errors = welcome.locator("ul.ivr-errors")
    assert "unknown placeholder {nickname}" in errors.inner_text()
    assert "has-errors" in (welcome.get_attribute("class") or "")
    # the field picker inserts a known field, and the error goes away
    welcome.locator("textarea[id$='-text']").fill("Hello ")
    welcome.locator("select[id$='-text-insert']").select_option("first_name")
    welcome.locator("button:has-text('Insert')").click()
    assert json.loads(page.input_value("textarea[name=tree]"))["nodes"]["welcome"]["text"] == \
        "Hello {first_name}"
    _checked(page, "ok")
    assert errors.is_hidden()
    # a transfer to an extension of another tenant is refused on its node, as saving would
    stranger = Tenant.create(name=f"{tenant.slug}x", slug=f"{tenant.slug}x")
    foreign = f"78{secrets.randbelow(9000) + 1000}"
    Extension.create(number=foreign, secret="x", tenant=stranger)
    page.select_option("#ivr-add-type", "transfer")
    page.click("#ivr-add")
    page.select_option("#ivr-start", "transfer")
    page.locator("details#ivr-advanced summary").click()
    data = json.loads(page.input_value("textarea[name=tree]"))
    data["nodes"]["transfer"]["target"]["value"] = foreign
    data["nodes"]["transfer"]["next"] = "welcome"
    page.fill("textarea[name=tree]", json.dumps(data))  # the advanced view, read back
    _checked(page, "problems")
    transfer = _card(page, "transfer")
    assert f"extension {foreign} is not one of your extensions" in \
        transfer.locator("ul.ivr-errors").inner_text()
    assert transfer.locator("select[id$='-extension']").input_value() == foreign
    transfer.locator("select[id$='-extension']").select_option(ext)
    _checked(page, "ok")
    # a name another IVR has shows under the name field
    flow_service.save_ivr(tenant.id, "Taken", {"start": "a", "nodes": {"a": {"type": "hangup"}}})
    page.fill("input[name=name]", "taken")
    _checked(page, "problems")
    assert "an IVR named 'taken' already exists" in page.inner_text("#name-live-errors")


def test_given_an_ivr_in_use_then_it_opens_read_only_and_a_duplicate_is_editable(
        page, web, settings):
    tenant, (ext, other), queue, prompt = _tenant_with_things(settings)
    tree = _every_type(ext, other, queue.id, prompt.sound)
    row = flow_service.save_ivr(tenant.id, "Front desk", tree, number="")
    Did.create(number=f"1555136{secrets.randbelow(9000) + 1000}", tenant=tenant, route="ivr",
               ivr=row)
    base = web.tenant_url(tenant.slug)
    _login(page, base, _admin(tenant))
    page.goto(f"{base}/ivrs/{row.id}")
    page.wait_for_selector("section.ivr-node")
    assert "Used by: DID" in page.inner_text("#ivr-in-use")
    assert page.locator("fieldset.ivr-frame").get_attribute("disabled") is not None
    assert page.locator("#ivr-start").is_disabled()
    assert page.locator("section.ivr-node select").first.is_disabled()
    assert page.locator("#ivr-save").count() == 0 and page.locator("#ivr-add").count() == 0
    assert page.locator("textarea[name=tree]").get_attribute("readonly") is not None
    page.click("#ivr-duplicate")
    page.wait_for_load_state("load")
    copy = Ivr.get(Ivr.tenant == tenant.id, Ivr.name == "Front desk (copy)")
    assert page.url.endswith(f"/ivrs/{copy.id}") and json.loads(copy.tree) == tree
    assert copy.number == ""
    page.wait_for_selector("section.ivr-node")
    assert not page.locator("#ivr-start").is_disabled()
    assert page.locator("#ivr-save").count() == 1
    # the original can still be changed on purpose
    page.goto(f"{base}/ivrs/{row.id}")
    page.click("#ivr-edit-anyway")
    page.wait_for_selector("#ivr-save")
    assert not page.locator("#ivr-start").is_disabled()


def test_given_the_builder_then_a_node_is_added_and_linked_from_the_keyboard(page, web, settings):
    tenant, (ext, _), queue, prompt = _tenant_with_things(settings)
    base = web.tenant_url(tenant.slug)
    _login(page, base, _admin(tenant))
    page.goto(f"{base}/ivrs/new")
    _checked(page, "ok")
    page.focus("#ivr-add-type")
    for _ in range(10):  # down the list of types to "Hang up"
        if page.input_value("#ivr-add-type") == "hangup":
            break
        page.keyboard.press("ArrowDown")
    assert page.input_value("#ivr-add-type") == "hangup"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "ivr-add"
    page.keyboard.press("Enter")
    # the new node's card takes the focus, and says what was done
    assert page.evaluate("document.activeElement.closest('section.ivr-node').dataset.node") == \
        "hangup"
    assert "Node hangup added" in page.inner_text("#ivr-live")
    _checked(page, "problems")  # nothing leads to it yet
    assert "unreachable from the start" in _card(page, "hangup").inner_text()
    exit_ = _card(page, "welcome").locator("select[id$='-exit-next']")
    exit_.focus()
    while exit_.input_value() != "hangup":
        page.keyboard.press("ArrowDown")
    _checked(page, "ok")
    assert json.loads(page.input_value("textarea[name=tree]"))["nodes"]["welcome"]["next"] == \
        "hangup"


def _caller_pressing(workdir, presses: list[tuple[float, str]]) -> str:
    """uac_call_did.xml that plays the keys once answered, then waits for our BYE."""
    pcap = write_pcap(workdir / "ivr-builder-keys.pcap", presses)
    text = (SCENARIOS / "uac_call_did.xml").read_text()
    marker = '  <recv request="BYE"/>'
    assert marker in text
    text = text.replace(marker, f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
                        + marker, 1)
    path = workdir / "uac_call_did_keys.xml"
    path.write_text(text)
    return str(path)


def test_given_an_ivr_built_in_the_builder_and_routed_from_a_did_when_called_then_key_1_reaches_the_extension(
        page, web, stasis_app, settings, workdir):
    suffix = secrets.randbelow(9000) + 1000
    ext = f"79{suffix}"
    tenant, secrets_by_number = tenant_with_phones(settings, [ext])
    did = Did.create(number=f"1555137{suffix}", tenant=tenant)
    base = web.tenant_url(tenant.slug)
    _login(page, base, _admin(tenant))

    # build it: the starter greeting becomes a menu, key 1 goes to a new transfer node
    page.goto(f"{base}/ivrs/new")
    page.fill("input[name=name]", "Press one")
    _checked(page, "ok")
    welcome = _card(page, "welcome")
    welcome.locator("select[id$='-type']").select_option("menu")
    welcome = _card(page, "welcome")
    welcome.locator("textarea[id$='-text']").fill("For sales, press 1.")
    _checked(page, "problems")  # a menu needs a key
    assert "'options' must map at least one key" in welcome.locator("ul.ivr-errors").inner_text()
    page.select_option("#ivr-add-type", "transfer")
    page.click("#ivr-add")
    transfer = _card(page, "transfer")
    transfer.locator("input[id$='-id']").fill("sales")
    transfer.locator("input[id$='-id']").press("Enter")
    sales = _card(page, "sales")
    assert sales.locator("select[id$='-kind']").input_value() == "extension"
    sales.locator("select[id$='-extension']").select_option(ext)
    welcome.locator("button:has-text('Add a key')").click()
    assert welcome.locator("select[id$='-key0']").input_value() == "1"
    welcome.locator("select[id$='-key0-to']").select_option("sales")
    # no key, or another key: a goodbye (so only key 1 reaches the extension)
    page.select_option("#ivr-add-type", "hangup")
    page.click("#ivr-add")
    bye = _card(page, "hangup")
    bye.locator("input[id$='-id']").fill("bye")
    bye.locator("input[id$='-id']").press("Enter")
    _card(page, "bye").locator("textarea[id$='-text']").fill("Goodbye.")
    welcome.locator("select[id$='-exit-no_input']").select_option("bye")
    welcome.locator("select[id$='-exit-invalid']").select_option("bye")
    _checked(page, "ok")
    page.click("#ivr-save")
    page.wait_for_load_state("load")
    assert page.locator("text=IVR 'Press one' saved.").count() == 1
    row = Ivr.get(Ivr.tenant == tenant.id, Ivr.name == "Press one")
    assert json.loads(row.tree) == {"start": "welcome", "nodes": {
        "welcome": {"type": "menu", "text": "For sales, press 1.", "options": {"1": "sales"},
                    "no_input": "bye", "invalid": "bye"},
        "sales": {"type": "transfer", "target": {"kind": "extension", "value": ext}},
        "bye": {"type": "hangup", "text": "Goodbye."}}}

    # route the DID to it in the portal
    page.goto(f"{base}/dids/")
    line = page.locator(f"tr[data-id='{did.id}']")
    line.locator("select[name=destination]").select_option(f"ivr:{row.id}")
    line.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    assert (Did.get_by_id(did.id).route, Did.get_by_id(did.id).ivr_id) == ("ivr", row.id)

    # the extension's phone registers and answers; the caller presses 1 (again while the
    # menu may not have started yet) and talks until the phone hangs up
    port = settings.sip_port + 150
    register(settings, workdir, ext, secrets_by_number[ext], port)
    phone = Sipp("uas_agent.xml", workdir, ["-p", str(port), "-m", "1", "-d", "2000",
                                            "-timeout", "60s"], name=f"phone-{ext}").start()
    scenario = _caller_pressing(workdir, [(1.0, "1"), (3.5, "1"), (6.0, "1")])
    caller = Sipp(scenario, workdir, [f"127.0.0.1:{settings.sip_port}", "-s", did.number,
                                      "-p", str(settings.sip_port + 151), "-m", "1",
                                      "-timeout", "60s"], name=f"caller-{did.number}").start()
    try:
        assert caller.wait(60) == 0, caller.diagnostics()
        assert phone.wait(20) == 0, phone.diagnostics()
    finally:
        caller.stop()
        phone.stop()
    assert sum(1 for m in phone.messages() if not m.sent and m.method == "INVITE") == 1
    inbound = wait_for(lambda: Call.get_or_none(Call.did == did.number,
                                                Call.ended_at.is_null(False)), 15,
                       message="the caller's CDR closed")
    assert inbound.tenant_id == tenant.id and inbound.disposition == "ANSWERED"
    leg = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.number == ext,
                                            Call.ended_at.is_null(False)), 15,
                   message="the transfer leg's CDR closed")
    assert leg.answered_at is not None
