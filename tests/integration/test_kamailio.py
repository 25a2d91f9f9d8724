"""Kamailio in front of two Asterisk nodes on one machine (issue 16, item 2).

Node A is the session's Asterisk and Stasis app (the instance the suite runs as); node B is a
second instance with its own Asterisk and Stasis app on the same database, its ports shifted
by 50 from A's (VOXCAST_KAMAILIO_TEST_B_OFFSET names another shift). Kamailio is started the
way `voxcast kamailio start` starts it, with both nodes in its dispatcher list: PSTN callers
(sipp) dial a DID through it, a phone registers through it and is called through it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import time
import urllib.request
from base64 import b64encode
from dataclasses import replace
from pathlib import Path

import pytest

from models import Did
from voxcast import config
from voxcast.runtime import asterisk, kamailio, pjsip_sync

from .child_process import VoxcastProcess, settings_in
from .conftest import wait_for
from .phones import tenant_with_phones
from .sipp import Sipp

GREETING = "Hello."
PING_S = 1
TIMEOUT_MS = 1500


def _b_settings(a: config.Settings) -> tuple[config.Settings, dict]:
    """Node B: instance `<A>-b` (h-kam-b beside h-kam-a) on A's database, ports 50 above A's."""
    shift = int(os.environ.get("VOXCAST_KAMAILIO_TEST_B_OFFSET", 50))
    offset = int(os.environ.get("VOXCAST_PORT_OFFSET", 0)) + shift
    name = re.sub(r"-a$", "", a.instance) + "-b"
    env = {**os.environ, "VOXCAST_INSTANCE": name, "VOXCAST_PORT_OFFSET": str(offset),
           "DATABASE_URL": a.db_url, "VOXCAST_NODE": "b", "VOXCAST_SIP_PROXY": "127.0.0.1",
           # A's RTP range is 1000 ports wide: B's starts after it
           "VOXCAST_RTP_START": str(a.rtp_end + 1), "VOXCAST_RTP_END": str(a.rtp_end + 1000)}
    return settings_in(env, name), env


def _ari(settings: config.Settings, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{settings.ari_url}{path}", method=method)
    token = b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=3) as resp:
        return json.loads(resp.read())


def _app_connected(settings: config.Settings) -> bool:
    try:
        return any(app["name"] == settings.ari_app_name for app in _ari(settings, "/applications"))
    except OSError:
        return False


class NodeB:
    """The second node: its Asterisk and its Stasis app (as `voxcast ari-app` on that node)."""

    def __init__(self, settings: config.Settings, env: dict, logdir: Path):
        self.settings = settings
        self.app = VoxcastProcess(logdir / "stasis-app-b.log", env)

    def start_asterisk(self) -> None:
        asterisk.start(self.settings)

    def stop_asterisk(self) -> None:
        asterisk.stop(self.settings)

    def start(self) -> None:
        asterisk.stop(self.settings)
        self.start_asterisk()
        self.app.spawn("--instance", self.settings.instance, "ari-app")
        wait_for(lambda: _app_connected(self.settings), 30, message="node B's Stasis app")

    def stop(self) -> None:
        self.app.stop()
        asterisk.stop(self.settings)


@pytest.fixture(scope="module")
def node_b(runtime, db, artifacts):
    b, env = _b_settings(runtime)
    asterisk.provision(b)  # the shared chroot: only prompts and the instance's directories
    node = NodeB(b, env, artifacts)
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def proxy(runtime, node_b, stasis_app):
    """Kamailio for instance A, both nodes in its dispatcher list, quick health checks;
    tenants' homes off (test_kamailio_homes.py has them): PSTN calls round-robin, phones
    hash by user."""
    saved = {k: os.environ.get(k) for k in ("VOXCAST_KAMAILIO_PING_S", "VOXCAST_KAMAILIO_TIMEOUT_MS",
                                            "VOXCAST_KAMAILIO_HOMES")}
    os.environ["VOXCAST_KAMAILIO_PING_S"] = str(PING_S)
    os.environ["VOXCAST_KAMAILIO_TIMEOUT_MS"] = str(TIMEOUT_MS)
    os.environ["VOXCAST_KAMAILIO_HOMES"] = "0"
    nodes = [kamailio.Node("a", "127.0.0.1", runtime.sip_port),
             kamailio.Node("b", "127.0.0.1", node_b.settings.sip_port)]
    kamailio.stop(runtime)
    kamailio.start(runtime, nodes=nodes)
    kam = kamailio.kamailio_settings(runtime)
    wait_for(lambda: _states(runtime) == {"a": True, "b": True}, 15,
             message="both nodes answered Kamailio's OPTIONS")
    yield kam
    kamailio.stop(runtime)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _states(settings) -> dict[str, bool]:
    names = {f"sip:127.0.0.1:{settings.sip_port}": "a"}
    return {names.get(uri, "b"): kamailio.up(flags)
            for uri, flags in kamailio.node_states(settings).items()}


def _steadily_up(settings, for_s: float = 3 * PING_S, timeout: float = 20) -> None:
    """Both nodes up in every check for `for_s` seconds in a row."""
    deadline = time.monotonic() + timeout
    since = time.monotonic()
    while time.monotonic() < deadline:
        if _states(settings) != {"a": True, "b": True}:
            since = time.monotonic()
        elif time.monotonic() - since >= for_s:
            return
        time.sleep(0.2)
    raise AssertionError("the nodes did not stay up in Kamailio's health checks")


def _answered_by(uac: Sipp) -> list[int]:
    """For each answered call, in order, the SIP port of the node that answered it."""
    return list(_answered_by_call(uac).values())


def _failovers(settings, port: int) -> int:
    """How often Kamailio logged that the node at `port` left an INVITE unanswered."""
    text = kamailio.log_file(settings).read_text(errors="replace")
    return text.count(f"node sip:127.0.0.1:{port} did not answer INVITE")


def _invites(uac: Sipp):
    return [m for m in uac.messages() if m.sent and m.first_line.startswith("INVITE")]


def _answered_by_call(uac: Sipp) -> dict[str, int]:
    """Call-ID -> the SIP port of the node that answered it (its 200's Contact)."""
    out = {}
    text = uac.log.read_text(errors="replace") if uac.log.exists() else ""
    for block in re.split(r"^-{20,} .*$", text, flags=re.M):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) < 2 or "message received" not in lines[0] or \
                not lines[1].startswith("SIP/2.0 200") or \
                not any(re.match(r"CSeq:\s*\d+ INVITE", line, re.I) for line in lines):
            continue
        call_id = next(line.split(":", 1)[1].strip() for line in lines
                       if line.lower().startswith(("call-id:", "i:")))
        contact = next(line for line in lines if line.lower().startswith(("contact:", "m:")))
        out[call_id] = int(re.search(r"[\d.]+:(\d+)", contact.split(":", 1)[1]).group(1))
    return out


def _callers(workdir, kam, did: str, calls: int, rate: float, port: int, name: str) -> Sipp:
    return Sipp("uac_call_did_proxied.xml", workdir,
                [f"127.0.0.1:{kam.port}", "-s", did, "-p", str(port), "-mp", str(port + 60),
                 "-m", str(calls), "-r", str(rate), "-l", str(calls), "-timeout", "40s"],
                name=name).start()


def test_given_two_nodes_behind_kamailio_when_pstn_callers_dial_a_did_then_calls_spread_and_survive_a_node_going_down(
        proxy, node_b, runtime, master, workdir):
    Did.create(number="15558860001", tenant=master, greeting_text=GREETING)
    a_port, b_port = runtime.sip_port, node_b.settings.sip_port
    port = kamailio.kamailio_settings(runtime).port + 1

    # both nodes healthy: round-robin over both, every call answered
    first = _callers(workdir, proxy, "15558860001", 6, 4, port, "kam-both")
    assert first.wait(60) == 0, first.diagnostics()
    by = _answered_by(first)
    assert len(by) == 6 and set(by) == {a_port, b_port}, by
    assert by.count(a_port) == by.count(b_port) == 3, by

    # mid-run, node B's Asterisk stops (its calls in progress are hung up by it): no call
    # fails; every call placed once it is down is answered by A (Kamailio tries B, gets no
    # answer within TIMEOUT_MS, marks it down and fails over; later calls go to A at once)
    during = _callers(workdir, proxy, "15558860001", 16, 4, port + 1, "kam-during")
    wait_for(lambda: len(_answered_by(during)) >= 4, 20, interval=0.1,
             message="the first calls of the run answered")
    node_b.stop_asterisk()
    stopped_at, down_since = time.monotonic(), dt.datetime.now()
    assert during.wait(60) == 0, during.diagnostics()
    by = _answered_by(during)
    assert len(by) == 16 and b_port in by[:4], by
    placed_after = [invite.call_id for invite in _invites(during) if invite.at > down_since]
    assert len(placed_after) >= 4
    answered_by = _answered_by_call(during)
    assert {answered_by[call_id] for call_id in placed_after} == {a_port}

    # the health check marks B down within a ping interval and a timeout
    wait_for(lambda: _states(runtime) == {"a": True, "b": False}, 10,
             message="Kamailio marked node B down")
    assert time.monotonic() - stopped_at < 15
    failovers = _failovers(runtime, b_port)
    after = _callers(workdir, proxy, "15558860001", 6, 6, port + 2, "kam-after")
    assert after.wait(60) == 0, after.diagnostics()
    assert _answered_by(after) == [a_port] * 6
    # none was sent to B any more (no failover after a timeout), and none retried by the caller
    assert _failovers(runtime, b_port) == failovers
    assert len(_invites(after)) == 6

    # B back: its pings are answered again and it takes calls again
    node_b.start_asterisk()
    wait_for(lambda: _app_connected(node_b.settings), 30, message="node B's app reconnected")
    wait_for(lambda: _states(runtime) == {"a": True, "b": True}, 10,
             message="Kamailio marked node B up again")
    back = _callers(workdir, proxy, "15558860001", 4, 4, port + 3, "kam-back")
    assert back.wait(60) == 0, back.diagnostics()
    assert set(_answered_by(back)) == {a_port, b_port}

    # B hangs (SIGSTOP: its socket takes INVITEs, nothing answers): the call sent to it times
    # out after TIMEOUT_MS and goes to A, as do the rest; then B dies (SIGKILL) and comes back
    failovers = _failovers(runtime, b_port)
    hung = asterisk.pid(node_b.settings)
    os.kill(hung, signal.SIGSTOP)
    try:
        frozen = _callers(workdir, proxy, "15558860001", 4, 4, port + 4, "kam-frozen")
        assert frozen.wait(60) == 0, frozen.diagnostics()
        assert _answered_by(frozen) == [a_port] * 4
        assert _failovers(runtime, b_port) > failovers
    finally:
        os.kill(hung, signal.SIGKILL)
        os.kill(hung, signal.SIGCONT)
    node_b.start_asterisk()
    wait_for(lambda: _app_connected(node_b.settings), 30, message="node B's app reconnected")
    wait_for(lambda: _states(runtime) == {"a": True, "b": True}, 10,
             message="Kamailio marked node B up again")


def _contacts(settings, number: str) -> str:
    out = asterisk.cli(settings, f"pjsip show aor {number}")
    return out if re.search(rf"Contact:\s+{number}/sip:", out) else ""


def test_given_a_phone_registered_through_kamailio_when_its_node_calls_it_then_the_call_goes_through_kamailio(
        proxy, node_b, runtime, workdir):
    # the nodes know Kamailio (VOXCAST_SIP_PROXY): phones' Contacts are not rewritten
    assert node_b.settings.sip_proxies == ("127.0.0.1",)
    _, pw = tenant_with_phones(replace(runtime, sip_proxies=("127.0.0.1",)), ["7161"])
    pjsip_sync.sync(node_b.settings)  # node B renders the same extensions from the database
    wait_for(lambda: re.search(r"Endpoint:\s+7161/", asterisk.cli(node_b.settings,
                                                                  "pjsip show endpoints")),
             10, message="endpoint 7161 on node B")
    # node B was restarted by the test before: its first pings may still flap (one lost
    # ping marks it down), which would send one of the two REGISTERs below to A
    _steadily_up(runtime)
    phone_port = proxy.port + 8
    reg = Sipp("uac_register.xml", workdir,
               [f"127.0.0.1:{proxy.port}", "-s", "7161", "-au", "7161", "-ap", pw["7161"],
                "-p", str(phone_port), "-m", "1", "-timeout", "20s"], name="kam-register")
    reg.start()
    assert reg.wait(30) == 0, reg.diagnostics()

    # registered on exactly one node, through Kamailio (a Path pointing at it)
    on_a, on_b = _contacts(runtime, "7161"), _contacts(node_b.settings, "7161")
    assert bool(on_a) != bool(on_b), (on_a, on_b)
    home = runtime if on_a else node_b.settings
    contact = re.search(r"Contact:\s+(7161/\S+)", on_a or on_b).group(1)
    detail = asterisk.cli(home, f"pjsip show contact {contact}")
    assert re.search(rf"path\s*:\s*<sip:127\.0\.0\.1:{proxy.port};lr;received=", detail), detail
    # a second registration lands on the same node (the user's hash)
    again = Sipp("uac_register.xml", workdir,
                 [f"127.0.0.1:{proxy.port}", "-s", "7161", "-au", "7161", "-ap", pw["7161"],
                  "-p", str(phone_port), "-m", "1", "-timeout", "20s"], name="kam-register-2")
    again.start()
    assert again.wait(30) == 0, again.diagnostics()
    assert bool(_contacts(runtime, "7161")) == bool(on_a)

    # the node calls the phone: the INVITE reaches it through Kamailio, record-routed
    phone = Sipp("uas_answer_proxied.xml", workdir,
                 ["-p", str(phone_port), "-mp", str(phone_port + 60), "-m", "1",
                  "-timeout", "30s"], name="kam-phone").start()
    time.sleep(0.3)
    # answered, it runs [bench-dialplan] (a prompt, then the hang-up)
    _ari(home, "/channels?endpoint=PJSIP/7161&context=bench-dialplan&extension=bench-dialplan"
               "&priority=1&timeout=20", method="POST")
    assert phone.wait(40) == 0, phone.diagnostics()
    invite = next(block for block in _received(phone) if block.startswith("INVITE "))
    assert re.search(rf"^Record-Route:.*127\.0\.0\.1:{proxy.port}", invite, re.M | re.I), invite
    assert re.search(rf"^Via: SIP/2\.0/UDP 127\.0\.0\.1:{proxy.port};", invite, re.M), invite
    bye = next(block for block in _received(phone) if block.startswith("BYE "))
    assert re.search(rf"^Via: SIP/2\.0/UDP 127\.0\.0\.1:{proxy.port};", bye, re.M), bye


def _received(peer: Sipp) -> list[str]:
    text = peer.log.read_text(errors="replace") if peer.log.exists() else ""
    out = []
    for block in re.split(r"^-{20,} .*$", text, flags=re.M):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) > 1 and "message received" in lines[0]:
            out.append("\n".join(lines[1:]))
    return out


def test_given_kamailio_when_an_address_that_is_no_carrier_calls_a_did_then_kamailio_refuses_it(
        proxy, runtime, master, workdir):
    """Behind Kamailio the nodes take its address for the trunk's: it relays an INVITE only
    from a carrier's address (VOXCAST_TRUNK_HOST / VOXCAST_TRUNK_ALLOW) or a phone registered
    through it. 127.0.0.2 is neither."""
    Did.create(number="15558860002", tenant=master, greeting_text=GREETING)
    stranger = Sipp("uac_call_refused.xml", workdir,
                    [f"127.0.0.1:{proxy.port}", "-s", "15558860002", "-p", str(proxy.port + 9),
                     "-m", "1", "-timeout", "20s"], name="kam-stranger", local_ip="127.0.0.2")
    stranger.start()
    assert stranger.wait(30) == 0, stranger.diagnostics()
    refusal = next(block for block in _received(stranger) if block.startswith("SIP/2.0 403"))
    assert "Server: voxcast-kamailio" in refusal  # Kamailio's own answer: no node saw it

    # once registered through Kamailio, the same address's calls are a phone's: relayed to
    # the phone's node, which challenges them with the phone's credentials
    _, pw = tenant_with_phones(replace(runtime, sip_proxies=("127.0.0.1",)), ["7162"])
    pjsip_sync.sync(_b_settings(runtime)[0])
    reg = Sipp("uac_register.xml", workdir,
               [f"127.0.0.1:{proxy.port}", "-s", "7162", "-au", "7162", "-ap", pw["7162"],
                "-p", str(proxy.port + 9), "-m", "1", "-timeout", "20s"],
               name="kam-register-stranger", local_ip="127.0.0.2")
    reg.start()
    assert reg.wait(30) == 0, reg.diagnostics()
    call = Sipp("uac_phone_dial.xml", workdir,
                [f"127.0.0.1:{proxy.port}", "-s", "7162", "-key", "ext", "7162", "-au", "7162",
                 "-ap", pw["7162"], "-p", str(proxy.port + 9), "-m", "1", "-d", "500",
                 "-timeout", "30s"], name="kam-phone-dials", local_ip="127.0.0.2").start()
    call.wait(40)
    challenge = next(block for block in _received(call) if block.startswith("SIP/2.0 401"))
    assert "Server: voxcast\n" in challenge + "\n"  # the node's (Asterisk's) challenge
    assert not any(block.startswith("SIP/2.0 403") and "voxcast-kamailio" in block
                   for block in _received(call))
