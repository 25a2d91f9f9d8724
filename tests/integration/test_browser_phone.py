"""Issue 17 item 7: the agent console's browser phone (JsSIP over WSS, DTLS-SRTP) in Debian's
Chromium with fake media devices, against the real Asterisk and Stasis app. The phone
registers as the agent's extension (Asterisk shows the contact over WebSocket, the endpoint
online); a sipp caller reaches it through a queue; the agent answers with the keyboard; audio
flows both ways (the caller's tone counted in the browser's getStats and heard by it, the
browser's tone in the RTP the caller's sipp receives); mute silences the agent, hold and
resume, a keypad tone reaches the caller as an RTP event; the agent hangs up in the browser;
the CDRs are as for a hardware phone. A Voice Agent campaign's answered contact rings there
too. A failing step leaves a screenshot in artifacts/."""
from __future__ import annotations

import itertools
import os
import secrets
import socket
import struct
import subprocess
import time
from types import SimpleNamespace

import pytest
from voxcast.accounts.passwords import hash_password

from models import Call, Extension, User
from models.entities import AgentSession, QueueCall
from voxcast.agents import sessions
from voxcast.runtime import asterisk, pjsip_sync

from .conftest import BASE_DOMAIN, wait_for
from .sipp import Sipp
from .test_queues import _ari, _did_to, _endpoints, _music_on, _queue, _waiting_channel
from .test_supervisor_monitor import SILENT, RtpTap, _tone_scenario, amplitude

AGENT_TONE = 910  # Hz: what the browser's fake microphone says (a WAV file, looped)
# The browser's own audio processing (gain control, noise suppression) halves the tone sipp
# plays at about 16000: heard at 1000 and up, far above SILENT (300)
AGENT_HEARD = 1000
_seq = itertools.count(1)

# Every RTCPeerConnection the page makes, kept for the test to read getStats() from (an init
# script of the test's browser context: nothing of it is in the product's pages).
PC_SPY = """
(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Orig(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
})();
"""
STATS = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const out = {inbound: 0, outbound: 0, energy: 0, state: pc ? pc.connectionState : "none",
               dtls: ""};
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.inbound += r.packetsReceived || 0;
      out.energy += r.totalAudioEnergy || 0;
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") out.outbound += r.packetsSent || 0;
    if (r.type === "transport") out.dtls = r.dtlsState || "";
  });
  return out;
}
"""


class EventTap(RtpTap):
    """RTP events (RFC 4733, any dynamic payload type) sent to the watched ports: the digit
    of each, in arrival order (an event's several packets counted once per timestamp)."""

    def __init__(self, ports):
        super().__init__(ports)
        self.events: dict[str, list[tuple[int, int]]] = {n: [] for n in ports}

    def _run(self) -> None:  # RtpTap's loop, keeping packets of a dynamic payload type
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == self.PACKET_OUTGOING or data[12:14] != b"\x08\x00":
                continue
            ip = data[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 17:
                continue
            name = self.ports.get(struct.unpack("!H", ip[ihl + 2:ihl + 4])[0])
            rtp = ip[ihl + 8:]
            if name is None or len(rtp) < 16 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F < 96:
                continue
            stamp = struct.unpack("!I", rtp[4:8])[0]
            key = (stamp, rtp[12])
            if key not in self.events[name]:
                self.events[name].append(key)

    def digits(self, name: str) -> str:
        return "".join("0123456789*#"[d] for _, d in self.events[name] if d < 12)


@pytest.fixture(scope="module")
def phone_browser(settings, tmp_path_factory):
    """Chromium with fake media (its microphone plays AGENT_TONE), the self-signed WSS
    certificate accepted, and the tenant's http:// origin treated as secure (getUserMedia
    needs a secure context; production serves the console over HTTPS)."""
    from playwright.sync_api import sync_playwright
    wav = tmp_path_factory.mktemp("fake-mic") / "agent.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(wav), "synth", "60",
                    "sine", str(AGENT_TONE), "vol", "0.5"], check=True)
    origin = f"http://master.{BASE_DOMAIN}:{settings.web_port}"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("VOXCAST_CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={wav}",
                  "--ignore-certificate-errors", "--allow-loopback-in-peer-connection",
                  "--disable-features=WebRtcHideLocalIpsWithMdns",
                  "--autoplay-policy=no-user-gesture-required",
                  f"--unsafely-treat-insecure-origin-as-secure={origin}",
                  f"--host-resolver-rules=MAP {BASE_DOMAIN} 127.0.0.1, "
                  f"MAP *.{BASE_DOMAIN} 127.0.0.1"])
        yield chromium
        chromium.close()


@pytest.fixture
def phone_page(phone_browser, artifacts, request):
    context = phone_browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(PC_SPY)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shots = artifacts / "screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def browser_agent(stasis_app, web, settings, master):
    n = next(_seq)
    password = "Agent-Pass-" + secrets.token_hex(4)
    user = User.create(tenant=master, username=f"webrtc-agent-{n}-{secrets.token_hex(2)}",
                       role="agent", password_hash=hash_password(password),
                       first_name="Wendy", last_name="Webrtc")
    ext = Extension.create(number=f"77{settings.sip_port % 1000:03d}{n}",
                           secret=secrets.token_urlsafe(12), tenant=master, user=user,
                           browser_phone=True)
    pjsip_sync.sync(settings)
    wait_for(lambda: f"Endpoint:  {ext.number}" in _endpoints(settings), 10,
             message=f"endpoint {ext.number}")
    yield SimpleNamespace(user=user, ext=ext, password=password, number=ext.number)
    sessions.end_for_user(user.id, "logout")


def _stats(page) -> dict:
    return page.evaluate(STATS)


def _contact(settings, number: str) -> str:
    return asterisk.cli(settings, f"pjsip show aor {number}")


def test_given_a_browser_phone_when_a_queue_caller_rings_then_the_agent_answers_talks_and_hangs_up_in_the_browser(
        phone_page, web, settings, master, workdir, browser_agent):
    page, agent = phone_page, browser_agent
    endpoint = asterisk.cli(settings, f"pjsip show endpoint {agent.number}")
    assert "transport-wss" in endpoint and "dtls" in endpoint  # rendered for WebRTC

    # The agent logs in: the console's phone registers over WSS as their extension.
    page.goto(f"{web.tenant_url(master.slug)}/login")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", agent.password)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_url("**/agent/")
    page.wait_for_selector("#phone-status[data-state=registered]", timeout=20000)
    assert page.inner_text("#phone-number") == agent.number
    wait_for(lambda: _ari(settings, f"/endpoints/PJSIP/{agent.number}")["state"] == "online",
             10, message="endpoint online in ARI")
    aor = _contact(settings, agent.number)
    assert f"{agent.number}/sip:" in aor and "transport=ws" in aor, aor
    page.click("#btn-login")
    page.wait_for_selector("#agent-state[data-state=ready]")

    queue = _queue(master, [(agent, 0)], wrapup_seconds=1, max_wait_seconds=30)
    did = _did_to(master, queue)
    media = settings.sip_port + 96
    tap = EventTap({"caller": media}).start()
    audio_tap = RtpTap({"caller": media}).start()
    caller = Sipp(_tone_scenario(workdir, "uac_call_did_speak_wait.xml.in", "caller"), workdir,
                  [f"127.0.0.1:{settings.sip_port}", "-s", did, "-p",
                   str(settings.sip_port + 95), "-m", "1", "-mp", str(media),
                   "-timeout", "90s"], name=f"caller-{did}").start()
    try:
        # It rings in the browser; Answer has the focus: Enter answers (keyboard use).
        page.wait_for_selector("#phone-answer:visible", timeout=20000)
        assert page.get_attribute("#phone-status", "data-state") == "ringing"
        assert page.evaluate("document.activeElement.id") == "phone-answer"
        assert page.title().startswith("\u260e")  # the tab says so (and it rings)
        page.keyboard.press("Enter")
        page.wait_for_selector("#phone-status[data-state=talking]", timeout=20000)
        assert not page.title().startswith("\u260e")
        wait_for(lambda: AgentSession.get(AgentSession.user == agent.user.id,
                                          AgentSession.ended_at.is_null()).state == "on_call",
                 10, message="agent on the call")

        # Audio both ways: RTP counted in the browser (in and out, DTLS up) and at sipp.
        page.wait_for_timeout(4000)
        t1 = time.monotonic()
        stats = _stats(page)
        assert stats["dtls"] == "connected", stats
        assert stats["inbound"] > 100 and stats["outbound"] > 100, stats
        assert stats["energy"] > 0, stats  # the caller's tone, decoded in the browser
        heard = audio_tap.received("caller", t1 - 2.5, t1)
        assert len(heard) > 8000 * 2, len(heard)  # >= 2 s of RTP reached the caller's sipp
        assert amplitude(heard, AGENT_TONE) > AGENT_HEARD  # and it carries the agent's microphone
        page.wait_for_timeout(1000)
        later = _stats(page)  # still flowing
        assert later["inbound"] > stats["inbound"] and later["outbound"] > stats["outbound"]

        # Mute: the caller hears the agent no more; unmute brings them back.
        page.click("#phone-mute")
        page.wait_for_selector("#phone-mute[aria-pressed=true]")
        page.wait_for_timeout(2500)
        t2 = time.monotonic()
        assert amplitude(audio_tap.received("caller", t2 - 1.5, t2), AGENT_TONE) < SILENT
        page.click("#phone-mute")
        page.wait_for_selector("#phone-mute[aria-pressed=false]")

        # Hold and resume (a re-INVITE each way), then a keypad tone reaches the caller.
        page.click("#phone-hold")
        page.wait_for_selector("#phone-hold[aria-pressed=true]")
        page.wait_for_selector("#phone-status[data-state=held]")
        caller_channel = _waiting_channel(settings)
        wait_for(lambda: _music_on(settings, caller_channel), 5, message="caller hears music")
        page.click("#phone-hold")
        page.wait_for_selector("#phone-hold[aria-pressed=false]")
        page.wait_for_selector("#phone-status[data-state=talking]")
        wait_for(lambda: not _music_on(settings, caller_channel), 5, message="music stopped")
        page.click("#phone-keypad [data-dtmf='5']")
        page.focus("#phone-keypad [data-dtmf='1']")
        page.keyboard.press("7")
        wait_for(lambda: tap.digits("caller").endswith("57"), 10, message="tones at the caller")
        page.wait_for_timeout(1500)
        t3 = time.monotonic()
        assert amplitude(audio_tap.received("caller", t3 - 1.0, t3), AGENT_TONE) > AGENT_HEARD

        # The agent hangs up in the browser: the caller gets BYE, the console wraps up.
        page.click("#phone-hangup")
        assert caller.wait(20) == 0, caller.diagnostics()
        page.wait_for_selector("#phone-status[data-state=registered]")
        # Closing the console unregisters the phone: no call is offered to it any more.
        page.close()
        wait_for(lambda: _ari(settings, f"/endpoints/PJSIP/{agent.number}")["state"] == "offline",
                 10, message="endpoint offline once the console is closed")
    finally:
        tap.stop()
        audio_tap.stop()
        caller.stop()
    qc = wait_for(lambda: QueueCall.get_or_none(QueueCall.queue == queue.id,
                                                QueueCall.ended_at.is_null(False)), 20,
                  message="QueueCall closed")
    assert qc.outcome == "answered" and qc.agent_id == agent.user.id and qc.offers == 1
    leg = wait_for(lambda: Call.get_or_none(Call.id == qc.agent_call_id,
                                            Call.ended_at.is_null(False)), 10,
                   message="agent leg CDR closed")
    assert leg.direction == "agent" and leg.tenant_id == master.id
    assert leg.agent_id == agent.user.id and leg.number == agent.number
    assert leg.disposition == "ANSWERED" and leg.answered_at and leg.duration >= 8
    customer = wait_for(lambda: Call.get_or_none(Call.id == qc.call_id,
                                                 Call.ended_at.is_null(False)), 10,
                        message="caller CDR closed")
    assert customer.agent_id == agent.user.id and customer.did == did
    assert customer.disposition == "ANSWERED" and customer.tenant_id == master.id
    wait_for(lambda: AgentSession.get(AgentSession.user == agent.user.id,
                                      AgentSession.ended_at.is_null()).state in ("wrapup", "ready"),
             10, message="agent out of the call")


def test_given_a_voice_agent_campaign_when_the_contact_answers_then_it_rings_in_the_browser_and_the_agent_takes_it(
        phone_page, web, settings, master, workdir, browser_agent):
    import threading

    from voxcast.campaigns import editing
    from voxcast.campaigns import services as campaign_service

    from .factories import make_group, reload, unique_phones
    from .phones import received_invites
    from .test_voice_agent import RtpSocket, _media

    page, agent = phone_page, browser_agent
    page.goto(f"{web.tenant_url(master.slug)}/login")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", agent.password)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_url("**/agent/")
    page.wait_for_selector("#phone-status[data-state=registered]", timeout=20000)
    wait_for(lambda: _ari(settings, f"/endpoints/PJSIP/{agent.number}")["state"] == "online",
             10, message="endpoint online in ARI")
    page.click("#btn-login")
    page.wait_for_selector("#agent-state[data-state=ready]")

    phones = unique_phones(1)
    campaign = editing.create(master, {
        "name": f"browser-va-{agent.number}", "type": "voice_agent",
        "group_id": make_group(master, phones).id, "agent_ids": [agent.user.id],
        "dial_ratio": 1.0, "wrapup_seconds": 0, "channel_limit": 2, "dial_timeout": 10,
        "retry_noanswer": 0, "retry_busy": 0, "retry_interval": 30},
        settings=settings, actor=editing.Actor(None))
    contact_rtp = RtpSocket()
    contact = Sipp("uas_va_contact.xml", workdir, [
        "-p", str(settings.trunk_port), "-m", "1", "-timeout", "60s",
        "-key", "rtpport", str(contact_rtp.port)], name="uas-va-contact-browser").start()
    try:
        campaign_service.start(campaign, settings)
        invite = wait_for(lambda: received_invites(contact), 20, message="contact dialled")[0]
        # Put through within the campaign's 2 s: the agent answers as soon as it rings.
        page.wait_for_selector("#phone-answer:visible", timeout=15000)
        page.click("#phone-answer")
        page.wait_for_selector("#phone-status[data-state=talking]", timeout=15000)
        talk = threading.Thread(target=contact_rtp.send, args=([_media(invite)], 0x2A, 3.0))
        talk.start()
        page.wait_for_timeout(3000)
        talk.join()
        stats = _stats(page)
        assert stats["dtls"] == "connected", stats
        assert stats["inbound"] > 100 and stats["outbound"] > 100, stats  # the contact's RTP in
        assert contact_rtp.total > 100, contact_rtp.total  # the browser's RTP at the contact
        page.click("#phone-hangup")
        assert contact.wait(20) == 0, contact.diagnostics()  # our BYE reached the contact
        page.wait_for_selector("#phone-status[data-state=registered]")
    finally:
        contact.stop()
        contact_rtp.close()
    wait_for(lambda: Call.select().where(Call.campaign == campaign.id,
                                         Call.ended_at.is_null()).count() == 0, 15,
             message="campaign CDRs closed")
    (row,) = QueueCall.select().where(QueueCall.campaign == campaign.id)
    assert row.outcome == "answered" and row.agent_id == agent.user.id
    customer = Call.get_by_id(row.call_id)
    assert customer.direction == "outbound" and customer.disposition == "ANSWERED"
    assert customer.agent_id == agent.user.id and customer.number == phones[0]
    leg = wait_for(lambda: Call.get_or_none(Call.id == row.agent_call_id,
                                            Call.ended_at.is_null(False)), 10,
                   message="agent leg CDR closed")
    assert leg.direction == "agent" and leg.disposition == "ANSWERED"
    assert leg.number == agent.number and leg.agent_id == agent.user.id
    assert reload(campaign).status == "completed"  # its one contact reached
