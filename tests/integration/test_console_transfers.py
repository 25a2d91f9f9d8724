"""Console blind transfers to the two targets test_agent_console does not take to an answer
(issue 12 item 5): an extension whose phone answers, and an outside number. Chromium against
the real Asterisk and Stasis app; sipp plays the agent's phone, the colleague's phone and the
far ends on the trunk. After the transfer the agent is out (wrap-up), the contact talks to the
target, and when the contact hangs up the target is hung up and every CDR closes."""
from __future__ import annotations

import time

from models import Call
from models.entities import AgentSession

from .conftest import wait_for
from .sipp import Sipp
from .test_agent_console import (  # noqa: F401 (fixture)
    OUTSIDE, _ari, _console, _console_bridge, _dial, centre,
)


def _talking(page, settings, ann) -> str:
    """The contact answered and is bridged with the agent; the console bridge's id prefix."""
    page.wait_for_selector("#agent-state[data-state=on_call]", timeout=20000)
    session = AgentSession.get(AgentSession.user == ann.user.id, AgentSession.ended_at.is_null())
    prefix = f"vxc-{session.id}-"
    wait_for(lambda: len(_console_bridge(settings, prefix)) == 2, 10, message="bridged")
    return prefix


def _calls_closed(tenant) -> bool:
    return Call.select().where(Call.tenant == tenant.id, Call.ended_at.is_null()).count() == 0


def test_given_call_when_blind_transferring_to_an_extension_then_its_phone_takes_the_contact(
        page, web, settings, workdir, centre):
    tenant, campaign, ann, bob = centre  # bob's phone as a plain extension (bob not logged in)
    trunk = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=1,
                     timeout=90).start()
    try:
        _console(page, web, tenant, ann)
        _dial(page, campaign)
        prefix = _talking(page, settings, ann)
        page.select_option("#transfer-form select[name=target_kind]", "extension")
        page.fill("#transfer-form input[name=target_text]", bob.number)
        page.click("#btn-transfer")
        page.wait_for_selector("#disposition-form", timeout=30000)
        wait_for(lambda: "BYE" in ann.received(), 10, message="agent's phone released")
        wait_for(lambda: "ACK" in bob.received(), 15, message="bob's phone answered")
        contact = Call.get(Call.tenant == tenant.id, Call.direction == "outbound")
        bob_leg = Call.get(Call.tenant == tenant.id, Call.direction == "transfer")
        assert bob_leg.number == bob.number
        wait_for(lambda: sorted(_console_bridge(settings, prefix)) == sorted(
            [contact.channel_id, Call.get_by_id(bob_leg.id).channel_id]), 10,
            message="the contact bridged with bob's phone")
        _ari(settings, "DELETE", f"/channels/{contact.channel_id}")
        wait_for(lambda: "BYE" in bob.received(), 10, message="bob's phone hung up")
        wait_for(lambda: _calls_closed(tenant), 15, message="every CDR closed")
    finally:
        trunk.stop()


def test_given_call_when_blind_transferring_to_an_outside_number_then_it_is_rated_and_bridged(
        page, web, settings, workdir, centre):
    tenant, campaign, ann, _bob = centre
    trunk = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=2,
                     timeout=90).start()
    try:
        _console(page, web, tenant, ann)
        _dial(page, campaign)
        prefix = _talking(page, settings, ann)
        page.select_option("#transfer-form select[name=target_kind]", "number")
        page.fill("#transfer-form input[name=target_text]", OUTSIDE)
        page.click("#btn-transfer")
        page.wait_for_selector("#disposition-form", timeout=30000)
        wait_for(lambda: "BYE" in ann.received(), 10, message="agent's phone released")
        leg = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id,
                                                Call.direction == "transfer"), 15,
                       message="the outside leg's CDR")
        assert leg.number == OUTSIDE
        contact = Call.get(Call.tenant == tenant.id, Call.direction == "outbound")
        wait_for(lambda: sorted(_console_bridge(settings, prefix)) == sorted(
            [contact.channel_id, Call.get_by_id(leg.id).channel_id]), 15,
            message="the contact bridged with the outside number")
        time.sleep(1.5)  # they talk: the leg is billed by the second
        assert Call.get_by_id(contact.id).ended_at is None
        _ari(settings, "DELETE", f"/channels/{contact.channel_id}")
        wait_for(lambda: _calls_closed(tenant), 15, message="every CDR closed")
    finally:
        trunk.stop()
    leg = Call.get_by_id(leg.id)
    assert leg.disposition == "ANSWERED" and leg.cost > 0  # rated like any outside call
