"""A predictive Voice Agent campaign through the real Asterisk: three agents' phones (sipp UAS
registered as their extensions, each talking a few seconds per call, 1 s wrap-up) and a list of
contacts who all answer (sipp UAS on the trunk: the hardest case for the abandon rate, every
line dialled becomes a person). The dialer paces it with voxcast.dialing.predictive: every
contact is put through to an agent, the abandon rate stays under the campaign's cap, and the
campaign page shows the live abandon rate and the dial level the dialer published."""
from __future__ import annotations

from models import Call, SystemStatus
from models.entities import QueueCall
from voxcast.agents import sessions
from voxcast.campaigns import services as campaign_service
from voxcast.dialing import voice_agent

from .conftest import wait_for
from .factories import reload, unique_phones
from .sipp import Sipp
from .test_voice_agent import (RtpSocket, _admin, _agent_phone, _campaign, _contacts,
                               _portal_login)

CONTACTS = 12
TALK_MS = 2500


def _agent_phone_for(workdir, port: int, rtp: RtpSocket, calls: int, name: str) -> Sipp:
    return Sipp("uas_va_agent.xml", workdir, [
        "-p", str(port), "-m", str(calls), "-d", str(TALK_MS), "-timeout", "120s",
        "-key", "rtpport", str(rtp.port)], name=name).start()


def test_given_a_predictive_campaign_when_every_contact_answers_then_agents_take_them_under_the_cap(
        stasis_app, web, page, settings, workdir):
    numbers = ["8571", "8572", "8573"]
    port = settings.sip_port + 96
    tenant, agents = _agent_phone(settings, workdir, numbers, port)
    for agent in agents:
        sessions.login(tenant.id, agent.id)
    campaign = _campaign(tenant, settings, unique_phones(CONTACTS), agents,
                         pacing_mode="predictive", abandon_cap_pct=3.0, wrapup_seconds=1,
                         channel_limit=6)
    contact_rtp = RtpSocket()
    agent_rtps = [RtpSocket() for _ in numbers]
    contacts = _contacts(workdir, settings, 3 * CONTACTS, contact_rtp, "uas-pp-contacts")
    phones = [_agent_phone_for(workdir, port + i, rtp, CONTACTS, f"uas-pp-agent-{n}")
              for i, (n, rtp) in enumerate(zip(numbers, agent_rtps))]
    answered = QueueCall.select().where(QueueCall.campaign == campaign.id,
                                        QueueCall.outcome == "answered")
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: answered.count() == CONTACTS, 120,
                 message="every contact put through to an agent")
        wait_for(lambda: Call.select().where(Call.tenant == tenant.id,
                                             Call.ended_at.is_null()).count() == 0, 30,
                 message="every CDR closed")
    finally:
        contacts.stop()
        for phone in phones:
            phone.stop()
        contact_rtp.close()
        for rtp in agent_rtps:
            rtp.close()

    rows = list(QueueCall.select().where(QueueCall.campaign == campaign.id))
    abandoned = [r for r in rows if r.outcome == "abandoned"]
    assert len(abandoned) <= 0.03 * len(rows), [(r.caller, r.outcome) for r in rows]
    # Each contact reached an agent once; all three agents worked.
    assert len({r.caller for r in rows if r.outcome == "answered"}) == CONTACTS
    assert {r.agent_id for r in rows if r.outcome == "answered"} == {a.id for a in agents}
    # The predictive pacing ran (not the fixed ratio) and published its level.
    status = SystemStatus.get_or_none(SystemStatus.key == voice_agent.pacing_status_key(
        campaign.id))
    assert status is not None and '"mode": "predictive"' in status.value, status
    wait_for(lambda: reload(campaign).status == "completed", 15, message="campaign completed")

    admin = _admin(tenant)
    base = _portal_login(page, web, tenant, admin)
    page.goto(f"{base}/campaigns/{campaign.id}")
    body = page.locator("main").inner_text()
    assert "predictive, abandon cap 3" in body and "Dial level" in body
    assert f"of {len(rows)} live-answered calls" in body
