"""Voice Agent campaigns through the real Asterisk: agents' phones are sipp UAS registered as
the tenant's extensions, the contacts are sipp UAS on the trunk. The dialer paces by ready
agents (lines = ratio x ready agents); an answered contact is bridged to a ready agent of the
campaign, with RTP flowing both ways between them (the test's own UDP sockets are both
phones' media, so it sends and sees the audio); a contact for whom no agent is free within
2 s hears the abandoned message, is hung up, counted as abandoned and queued for a call back,
and the campaign's abandon rate is live in the API and on the campaign page."""
from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import urllib.request

from voxcast.accounts.passwords import hash_password

from models import Call, Campaign, CampaignContact, Extension, Tenant, User
from models.entities import AgentSession, AgentStateLog, QueueCall
from voxcast.accounts import api_keys
from voxcast.agents import sessions
from voxcast.campaigns import editing
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_group, reload, unique_phones
from .phones import received_invites, register, tenant_with_phones
from .sipp import Sipp
from .speech_pcap import silence, speaking_scenario, speech_ulaw, tone_ulaw, write_pcap

AGENT_TALKS_MS = 4000


class RtpSocket:
    """A phone's media: a UDP socket that counts the RTP packets whose PCMU payload is all one
    byte (the other side's marker), and sends its own marker every 20 ms."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: dict[int, int] = {}  # marker byte -> packets
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(2048)
            except OSError:
                continue
            self.total += 1
            payload = data[12:]
            if len(payload) == 160 and payload.count(payload[:1]) >= 150:
                self.received[payload[0]] = self.received.get(payload[0], 0) + 1

    def send(self, targets: list[tuple[str, int]], marker: int, seconds: float) -> None:
        seq, ts, ssrc = 1, 0, 0x5A5A0000 + marker
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            packet = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            packet += bytes([marker]) * 160
            for target in targets:
                self.sock.sendto(packet, target)
            seq, ts = seq + 1, ts + 160
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _media(invite: str) -> tuple[str, int]:
    """Where Asterisk wants the RTP of a leg: c= and m=audio of its INVITE's SDP."""
    host = re.search(r"^c=IN IP4 (\S+)", invite, re.M).group(1)
    port = int(re.search(r"^m=audio (\d+)", invite, re.M).group(1))
    return host, port


def _agent_phone(settings, workdir, numbers: list[str], port_base: int, **tenant_fields):
    """A tenant with agents (role agent, an extension each, registered); not logged in."""
    tenant, pw = tenant_with_phones(settings, numbers, channel_limit=10, **tenant_fields)
    agents = []
    for i, number in enumerate(numbers):
        user = User.create(username=f"va-agent-{number}-{tenant.id}", tenant=tenant,
                           role="agent", password_hash=hash_password("x"))
        Extension.update(user=user).where(Extension.number == number).execute()
        register(settings, workdir, number, pw[number], port_base + i)
        agents.append(user)
    return tenant, agents


def _campaign(tenant, settings, phones, agents, **fields) -> Campaign:
    data = {"name": f"va-{phones[0]}", "type": "voice_agent",
            "group_id": make_group(tenant, phones).id, "agent_ids": [a.id for a in agents],
            "dial_ratio": 1.0, "wrapup_seconds": 0, "channel_limit": 5, "dial_timeout": 10,
            "retry_noanswer": 0, "retry_busy": 0, "retry_interval": 30, **fields}
    return editing.create(tenant, data, settings=settings, actor=editing.Actor(None))


def _contacts(workdir, settings, calls: int, rtp: RtpSocket, name: str) -> Sipp:
    return Sipp("uas_va_contact.xml", workdir, [
        "-p", str(settings.trunk_port), "-m", str(calls), "-timeout", "60s",
        "-key", "rtpport", str(rtp.port)], name=name).start()


def _agent_uas(workdir, port: int, rtp: RtpSocket, name: str) -> Sipp:
    return Sipp("uas_va_agent.xml", workdir, [
        "-p", str(port), "-m", "1", "-d", str(AGENT_TALKS_MS), "-timeout", "60s",
        "-key", "rtpport", str(rtp.port)], name=name).start()


ADMIN_PASSWORD = "Va-Admin-Pass-1"


def _admin(tenant) -> User:
    return User.create(username=f"va-admin-{tenant.id}", tenant=tenant, role="tenant",
                       password_hash=hash_password(ADMIN_PASSWORD))


def _api_get(settings, admin, path: str) -> dict:
    _, secret = api_keys.create(tenant_id=admin.tenant_id, user=admin, name="voice agent test")
    req = urllib.request.Request(f"http://127.0.0.1:{settings.web_port}/api/v1{path}",
                                 headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_given_two_lines_per_agent_when_both_answer_then_one_is_bridged_and_one_abandoned(
        stasis_app, web, page, settings, workdir):
    agent_port = settings.sip_port + 81
    tenant, (agent,) = _agent_phone(settings, workdir, ["8501"], agent_port)
    sessions.login(tenant.id, agent.id)
    phones = unique_phones(2)
    campaign = _campaign(tenant, settings, phones, [agent], dial_ratio=2.0)
    contact_rtp, agent_rtp = RtpSocket(), RtpSocket()
    contacts = _contacts(workdir, settings, 2, contact_rtp, "uas-va-contacts")
    phone = _agent_uas(workdir, agent_port, agent_rtp, "uas-va-agent-8501")
    try:
        campaign_service.start(campaign, settings)
        # Both contacts are dialled at once: 2.0 lines for the one ready agent.
        invites = wait_for(lambda: len(received_invites(contacts)) == 2 and received_invites(contacts),
                           20, message="both contacts dialled")
        to_agent = wait_for(lambda: received_invites(phone), 10, message="the agent's phone rung")
        assert "8501" in to_agent[0].splitlines()[0]
        # Both phones talk while bridged: the agent's marker reaches the contact and back.
        customer_legs = [_media(inv) for inv in invites]
        talk = threading.Thread(target=agent_rtp.send, args=([_media(to_agent[0])], 0x55, 2.5))
        talk.start()
        contact_rtp.send(customer_legs, 0x2A, 2.5)
        talk.join()
        assert contacts.wait(30) == 0, contacts.diagnostics()
        assert phone.wait(30) == 0, phone.diagnostics()
    finally:
        contacts.stop()
        phone.stop()
        contact_rtp.close()
        agent_rtp.close()
    assert contact_rtp.received.get(0x55, 0) >= 40, (contact_rtp.received, contact_rtp.total)
    assert agent_rtp.received.get(0x2A, 0) >= 40, (agent_rtp.received, agent_rtp.total)

    wait_for(lambda: Call.select().where(Call.tenant == tenant.id,
                                         Call.ended_at.is_null()).count() == 0, 15,
             message="every CDR closed")
    rows = {q.outcome: q for q in QueueCall.select().where(QueueCall.campaign == campaign.id)}
    assert set(rows) == {"answered", "abandoned"}, rows
    answered, abandoned = rows["answered"], rows["abandoned"]
    assert answered.agent_id == agent.id and answered.agent_call_id is not None
    assert 1 <= abandoned.wait_seconds <= 3 and abandoned.agent_id is None
    calls = {c.id: c for c in Call.select().where(Call.campaign == campaign.id)}
    assert len(calls) == 2 and {c.disposition for c in calls.values()} == {"ANSWERED"}
    agent_leg = Call.get_by_id(answered.agent_call_id)
    assert agent_leg.direction == "agent" and agent_leg.disposition == "ANSWERED"
    # The abandoned contact heard the message after the 2 s wait, then our BYE.
    dialogs = contacts.dialogs()
    spans = sorted((next(m for m in msgs if m.method == "BYE" and not m.sent).at
                    - next(m for m in msgs if m.method == "ACK" and not m.sent).at)
                   .total_seconds() for msgs in dialogs.values())
    assert len(spans) == 2
    bridged_s = AGENT_TALKS_MS / 1000
    assert spans[1] >= bridged_s, spans  # the bridged one: as long as the agent talked
    abandoned_call = calls[abandoned.call_id]
    assert 3.5 <= abandoned_call.billsec <= 12, abandoned_call.billsec  # 2 s + the message
    # Counted and queued again for the call back the message promises.
    entry = CampaignContact.get(CampaignContact.id == abandoned_call.entry_id)
    assert (entry.state, entry.attempts, entry.last_disposition) == ("pending", 1, "ABANDONED")
    # The agent is ready again (no wrap-up) and the abandon rate is live.
    assert AgentSession.get(AgentSession.user == agent.id,
                            AgentSession.ended_at.is_null()).state == "ready"
    admin = _admin(tenant)
    body = _api_get(settings, admin, f"/campaigns/{campaign.id}")
    assert body["abandon_rate"] == 50.0 and body["progress"]["abandoned"] == 1, body
    # ... and on the campaign page, in the tenant's portal.
    base = _portal_login(page, web, tenant, admin)
    page.goto(f"{base}/campaigns/{campaign.id}")
    assert page.locator("#abandon-rate").inner_text().strip() == "50.0 %"
    assert page.locator("#agent-abandoned").inner_text().strip() == "1"
    campaign_service.stop(reload(campaign))


def test_given_no_agent_ready_then_nothing_is_dialled_until_one_logs_in(
        stasis_app, settings, workdir):
    agent_port = settings.sip_port + 83
    tenant, (agent,) = _agent_phone(settings, workdir, ["8511"], agent_port)
    phones = unique_phones(1)
    campaign = _campaign(tenant, settings, phones, [agent])
    contact_rtp, agent_rtp = RtpSocket(), RtpSocket()
    contacts = _contacts(workdir, settings, 1, contact_rtp, "uas-va-contact-wait")
    phone = _agent_uas(workdir, agent_port, agent_rtp, "uas-va-agent-8511")
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status_code == "no_agents", 10,
                 message="waiting for agents")
        time.sleep(1.5)
        assert received_invites(contacts) == []  # nobody ready: no line
        sessions.login(tenant.id, agent.id)
        wait_for(lambda: received_invites(contacts), 10, message="dialled once the agent is ready")
        assert contacts.wait(30) == 0, contacts.diagnostics()
        assert phone.wait(30) == 0, phone.diagnostics()
    finally:
        contacts.stop()
        phone.stop()
        contact_rtp.close()
        agent_rtp.close()
    wait_for(lambda: reload(campaign).status == "completed", 15, message="campaign completed")
    (row,) = QueueCall.select().where(QueueCall.campaign == campaign.id)
    assert row.outcome == "answered" and row.agent_id == agent.id
    assert reload(campaign).status_code == ""


GREETING = ("Hi, you have reached the voice mail of John Smith. I cannot take your call "
            "right now. Please leave your message after the tone.")


def _amd_run(settings, workdir, tenant, agent, agent_port, pcap, name):
    """One contact who speaks `pcap`, AMD on (hang up on a machine), the agent ready."""
    campaign = _campaign(tenant, settings, unique_phones(1), [agent], amd_enabled=True,
                         amd_action="hangup", retry_machine=0, wrapup_seconds=2)
    contact = Sipp(str(speaking_scenario(pcap, workdir / f"{name}.xml")), workdir,
                   ["-p", str(settings.trunk_port), "-m", "1", "-timeout", "60s"],
                   name=name).start()
    agent_rtp = RtpSocket()
    phone = _agent_uas(workdir, agent_port, agent_rtp, f"{name}-agent")
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()
        phone.stop()
        agent_rtp.close()
    return reload(campaign), contact, phone


def test_given_amd_when_a_person_answers_then_the_agent_is_rung_after_amd_and_a_machine_never(
        stasis_app, settings, workdir):
    agent_port = settings.sip_port + 85
    tenant, (agent,) = _agent_phone(settings, workdir, ["8521"], agent_port)
    sessions.login(tenant.id, agent.id)
    base = settings.state_dir / "pcap"
    base.mkdir(parents=True, exist_ok=True)
    person, machine = base / "va-person.pcap", base / "va-machine.pcap"
    write_pcap(speech_ulaw("Hello?") + silence(20), person)
    write_pcap(speech_ulaw(GREETING) + silence(0.3) + tone_ulaw(0.5) + silence(20), machine)

    campaign, contact, phone = _amd_run(settings, workdir, tenant, agent, agent_port, person,
                                        "va-amd-person")
    (call,) = Call.select().where(Call.campaign == campaign.id)
    assert call.disposition == "ANSWERED" and "AMD HUMAN" in call.cause_txt, call.cause_txt
    (row,) = QueueCall.select().where(QueueCall.campaign == campaign.id)
    assert row.outcome == "answered" and row.agent_id == agent.id
    ack = next(m for m in contact.messages() if m.method == "ACK" and not m.sent)
    invite = next(m for m in phone.messages() if m.method == "INVITE" and not m.sent)
    assert (invite.at - ack.at).total_seconds() >= 0.5  # rung once AMD said "person"

    # after-call work as the campaign sets it, then ready again
    session = wait_for(lambda: AgentSession.get_or_none(
        AgentSession.user == agent.id, AgentSession.ended_at.is_null(),
        AgentSession.state == "ready", AgentSession.last_call_ended_at.is_null(False)), 10,
        message="agent ready again")
    wrapup = AgentStateLog.get(AgentStateLog.session == session.id,
                               AgentStateLog.state == "wrapup")
    assert 1.5 <= (wrapup.ended_at - wrapup.started_at).total_seconds() <= 3.5
    campaign, contact, phone = _amd_run(settings, workdir, tenant, agent, agent_port, machine,
                                        "va-amd-machine")
    (call,) = Call.select().where(Call.campaign == campaign.id)
    assert call.disposition == "MACHINE", call.cause_txt
    assert received_invites(phone) == []  # a machine never takes an agent
    assert not QueueCall.select().where(QueueCall.campaign == campaign.id).exists()
    assert campaign_service.progress(campaign)["abandon_rate"] == 0.0


def test_given_the_agent_does_not_answer_within_2s_then_the_contact_is_abandoned_not_the_agent(
        stasis_app, settings, workdir):
    agent_port = settings.sip_port + 87
    tenant, (agent,) = _agent_phone(settings, workdir, ["8531"], agent_port)
    sessions.login(tenant.id, agent.id)
    campaign = _campaign(tenant, settings, unique_phones(1), [agent])
    contact_rtp = RtpSocket()
    contacts = _contacts(workdir, settings, 1, contact_rtp, "uas-va-contact-ringing")
    phone = Sipp.uas("uas_no_answer.xml", workdir, agent_port, calls=1, timeout=30).start()
    try:
        campaign_service.start(campaign, settings)
        assert contacts.wait(30) == 0, contacts.diagnostics()
        assert phone.wait(15) == 0, phone.diagnostics()  # rung, then CANCELled by us
    finally:
        contacts.stop()
        phone.stop()
        contact_rtp.close()
    wait_for(lambda: Call.select().where(Call.tenant == tenant.id,
                                         Call.ended_at.is_null()).count() == 0, 15,
             message="every CDR closed")
    (row,) = QueueCall.select().where(QueueCall.campaign == campaign.id)
    assert row.outcome == "abandoned" and row.agent_id is None
    rung = next(m for m in phone.messages() if m.method == "INVITE" and not m.sent)
    cancel = next(m for m in phone.messages() if m.method == "CANCEL" and not m.sent)
    assert (cancel.at - rung.at).total_seconds() <= 3  # the offer ends with the 2 s
    # the abandoned message was heard: Asterisk sent the contact audio for a few seconds
    assert contact_rtp.total >= 100, contact_rtp.total
    session = AgentSession.get(AgentSession.user == agent.id, AgentSession.ended_at.is_null())
    assert session.state == "ready"  # withdrawn, not a missed call of the agent
    entry = CampaignContact.get(CampaignContact.campaign == campaign.id)
    assert (entry.state, entry.last_disposition) == ("pending", "ABANDONED")
    campaign_service.stop(reload(campaign))


def _portal_login(page, web, tenant, admin) -> str:
    base = web.tenant_url(tenant.slug)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    return base


def test_given_the_campaign_form_in_a_browser_then_a_voice_agent_campaign_is_saved(
        web, page, settings, db):
    tenant = Tenant.create(name="va-form", slug="va-form", channel_limit=10)
    agents = [User.create(username=f"va-form-{n}-{tenant.id}", tenant=tenant, role="agent",
                          first_name=f"Agent{n}", password_hash=hash_password("x"))
              for n in (1, 2)]
    group = make_group(tenant, unique_phones(1))
    base = _portal_login(page, web, tenant, _admin(tenant))
    page.goto(f"{base}/campaigns/new")
    page.fill("input[name=name]", "Sales calls")
    page.select_option("select[name=group]", str(group.id))
    page.select_option("select[name=type]", "voice_agent")
    page.fill("input[name=dial_ratio]", "1.5")
    page.fill("input[name=wrapup_seconds]", "15")
    page.select_option("select[name=agents]", [str(agents[1].id)])
    page.fill("input[name=web_form_url]", "https://crm.example.com/find?tel={phone}")
    page.fill("textarea[name=script]", "Good morning, {first_name}.")
    page.locator("form:has(input[name=name]) button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    campaign = wait_for(lambda: Campaign.get_or_none(Campaign.tenant == tenant.id), 5,
                        message="campaign saved")
    assert (campaign.type, float(campaign.dial_ratio), campaign.wrapup_seconds) == (
        "voice_agent", 1.5, 15)
    assert campaign.web_form_url == "https://crm.example.com/find?tel={phone}"
    assert editing.agent_ids(campaign) == [agents[1].id]
    assert page.locator("#abandon-rate").inner_text().strip() == "0.0 %"
    # a ratio past 3.0 is refused on the page, nothing changed
    page.goto(f"{base}/campaigns/{campaign.id}/edit")
    page.fill("input[name=dial_ratio]", "3.5")
    page.evaluate("document.querySelector('input[name=dial_ratio]').removeAttribute('max')")
    page.locator("form:has(input[name=name]) button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("em.error").count() >= 1
    assert float(reload(campaign).dial_ratio) == 1.5


def test_given_the_contact_hangs_up_while_waiting_then_abandoned_and_the_offer_withdrawn(
        stasis_app, settings, workdir):
    agent_port = settings.sip_port + 89
    tenant, (agent,) = _agent_phone(settings, workdir, ["8551"], agent_port)
    sessions.login(tenant.id, agent.id)
    campaign = _campaign(tenant, settings, unique_phones(1), [agent])
    contact_rtp = RtpSocket()
    # the contact answers and hangs up (its BYE) 1 s later, before any agent took the call
    contact = Sipp("uas_va_agent.xml", workdir, [
        "-p", str(settings.trunk_port), "-m", "1", "-d", "1000", "-timeout", "30s",
        "-key", "rtpport", str(contact_rtp.port)], name="uas-va-contact-gives-up").start()
    phone = Sipp.uas("uas_no_answer.xml", workdir, agent_port, calls=1, timeout=30).start()
    try:
        campaign_service.start(campaign, settings)
        assert contact.wait(30) == 0, contact.diagnostics()
        assert phone.wait(15) == 0, phone.diagnostics()
    finally:
        contact.stop()
        phone.stop()
        contact_rtp.close()
    rung = next(m for m in phone.messages() if m.method == "INVITE" and not m.sent)
    cancel = next(m for m in phone.messages() if m.method == "CANCEL" and not m.sent)
    bye = next(m for m in contact.messages() if m.method == "BYE" and m.sent)
    assert cancel.at >= bye.at and (cancel.at - bye.at).total_seconds() < 1.0  # at once
    assert rung.at <= bye.at
    row = wait_for(lambda: QueueCall.get_or_none(QueueCall.campaign == campaign.id,
                                                 QueueCall.outcome != ""), 10,
                   message="queue call closed")
    assert row.outcome == "abandoned" and row.wait_seconds <= 2
    session = AgentSession.get(AgentSession.user == agent.id, AgentSession.ended_at.is_null())
    assert (session.state, session.missed_in_row) == ("ready", 0)
    campaign_service.stop(reload(campaign))


def test_given_one_line_per_agent_then_the_next_contact_is_dialled_only_when_the_agent_is_free(
        stasis_app, settings, workdir):
    agent_port = settings.sip_port + 91
    tenant, (agent,) = _agent_phone(settings, workdir, ["8561"], agent_port)
    sessions.login(tenant.id, agent.id)
    campaign = _campaign(tenant, settings, unique_phones(2), [agent], dial_ratio=1.0,
                         channel_limit=5)
    contact_rtp, agent_rtp = RtpSocket(), RtpSocket()
    contacts = _contacts(workdir, settings, 2, contact_rtp, "uas-va-contacts-paced")
    phone = Sipp("uas_va_agent.xml", workdir, [
        "-p", str(agent_port), "-m", "2", "-d", "1500", "-timeout", "60s",
        "-key", "rtpport", str(agent_rtp.port)], name="uas-va-agent-8561").start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contacts.wait(15) == 0, contacts.diagnostics()
        assert phone.wait(15) == 0, phone.diagnostics()
    finally:
        contacts.stop()
        phone.stop()
        contact_rtp.close()
        agent_rtp.close()
    spans = sorted((next(m for m in msgs if m.method == "INVITE" and not m.sent).at,
                    next(m for m in msgs if m.method == "BYE" and not m.sent).at)
                   for msgs in contacts.dialogs().values())
    assert len(spans) == 2
    assert spans[1][0] >= spans[0][1], spans  # one line for the one agent: never two at once
    outcomes = [q.outcome for q in QueueCall.select().where(QueueCall.campaign == campaign.id)]
    assert outcomes == ["answered", "answered"]
    assert campaign_service.progress(reload(campaign))["abandon_rate"] == 0.0
