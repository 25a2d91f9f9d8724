"""The DID edit page in Debian's Chromium: the tenant's admin routes a DID to an IVR, with a
user's phone outside opening hours; the next call to the DID runs that IVR."""
from __future__ import annotations

import json
import secrets

from voxcast.accounts.passwords import hash_password

from models import Call, Did, Tenant, User
from models.entities import Ivr, Queue
from voxcast.audio import sounds

from .conftest import wait_for
from .sipp import Sipp

TEXT = "Welcome to the browser routed menu."


def test_given_tenant_admin_when_routing_a_did_in_the_portal_then_calls_follow_it(
        page, web, stasis_app, settings, workdir):
    slug = f"didb{secrets.token_hex(2)}"
    tenant = Tenant.create(name=slug, slug=slug)
    User.create(tenant=tenant, username=f"{slug}-admin", role="tenant",
                password_hash=hash_password("Did-Admin-Pass-1"))
    dora = User.create(tenant=tenant, username=f"{slug}-dora", role="agent",
                       password_hash=hash_password("x"), email="dora@example.test")
    ivr = Ivr.create(tenant=tenant, name="Front", tree=json.dumps(
        {"start": "a", "nodes": {"a": {"type": "say", "text": TEXT}}}))
    Queue.create(tenant=tenant, name="Support")
    did = Did.create(number="15551350001", tenant=tenant)

    page.goto(f"{web.tenant_url(slug)}/login")
    page.fill("input[name=username]", f"{slug}-admin")
    page.fill("input[name=password]", "Did-Admin-Pass-1")
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    page.goto(f"{web.tenant_url(slug)}/dids/")
    row = page.locator(f"tr[data-id='{did.id}']")
    row.locator("select[name=destination]").select_option(f"ivr:{ivr.id}")
    row.locator("select[name=closed]").select_option(f"user:{dora.id}")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"text=DID {did.number} saved.").count() == 1
    did = Did.get_by_id(did.id)
    assert (did.route, did.ivr_id, did.closed_route, did.closed_target) == (
        "ivr", ivr.id, "user", dora.id)
    assert row.locator("select[name=destination]").input_value() == f"ivr:{ivr.id}"

    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did.number,
                   port=settings.sip_port + 76).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    seconds = sounds.duration_seconds(settings.sounds_dir / f"{sounds.tts_name(TEXT)}.wav")
    assert seconds - 0.3 <= (bye.at - ok.at).total_seconds() <= seconds + 2.0
    wait_for(lambda: Call.get_or_none(Call.did == did.number, Call.ended_at.is_null(False)), 10,
             message="inbound CDR closed")
