"""Inbound queues (ACD) through the real Asterisk: sipp phones registered as the agents'
extensions, sipp callers dialling a DID routed to the queue. The Stasis app offers each call
to one agent at a time, bridges on answer, tries the next on no answer, never offers to an
agent who is paused or not registered, and records the QueueCall."""
from __future__ import annotations

import base64
import itertools
import json
import secrets
import urllib.error
import urllib.request

import pytest
from voxcast.accounts.passwords import hash_password

from models import Call, Did, Extension, User
from models.entities import AgentSession, Queue, QueueCall, QueueMember
from voxcast.agents import sessions, states
from voxcast.runtime import pjsip_sync

from .conftest import wait_for
from .phones import dial
from .sipp import Sipp
from .test_did_routing import _check_voicemail, _speaking_caller

_seq = itertools.count(1)


class Agent:
    """An agent user with an extension and a sipp phone registered as it."""

    def __init__(self, settings, workdir, tenant, port: int):
        n = next(_seq)
        self.settings, self.workdir, self.port = settings, workdir, port
        self.number = f"73{port % 1000:03d}{n}"
        self.user = User.create(tenant=tenant, username=f"acd-agent-{port}-{n}",
                                password_hash=hash_password("x"), role="agent",
                                first_name=f"Agent{n}")
        self.ext = Extension.create(number=self.number, secret=secrets.token_urlsafe(12),
                                    tenant=tenant, user=self.user)
        self.phone: Sipp | None = None

    def register(self) -> None:
        reg = Sipp("uac_register.xml", self.workdir,
                   [f"127.0.0.1:{self.settings.sip_port}", "-s", self.number, "-au", self.number,
                    "-ap", self.ext.secret, "-p", str(self.port), "-m", "1", "-timeout", "20s"],
                   name=f"register-{self.number}")
        reg.start()
        assert reg.wait(30) == 0, reg.diagnostics()

    def answer(self, calls: int = 1, talk_ms: int = 2000, scenario: str = "uas_agent.xml") -> Sipp:
        self.phone = Sipp(scenario, self.workdir,
                          ["-p", str(self.port), "-m", str(calls), "-d", str(talk_ms),
                           "-timeout", "60s"], name=f"phone-{self.number}-{scenario[:-4]}")
        self.phone.start()
        return self.phone

    def login(self) -> AgentSession:
        return sessions.login(self.user.tenant_id, self.user.id)

    def session(self) -> AgentSession:
        return AgentSession.get(AgentSession.user == self.user.id, AgentSession.ended_at.is_null())

    def invites(self) -> int:
        return sum(1 for m in (self.phone.messages() if self.phone else [])
                   if not m.sent and m.method == "INVITE")

    def stop(self) -> None:
        if self.phone:
            self.phone.stop()


@pytest.fixture
def agents(stasis_app, settings, master, workdir):
    made: list[Agent] = []
    ports = itertools.count(settings.sip_port + 60)

    def make(count: int, register: bool = True) -> list[Agent]:
        new = [Agent(settings, workdir, master, next(ports)) for _ in range(count)]
        pjsip_sync.sync(settings)
        for agent in new:
            wait_for(lambda a=agent: f"Endpoint:  {a.number}" in _endpoints(settings), 10,
                     message=f"endpoint {agent.number}")
            if register:
                agent.register()
        made.extend(new)
        return new

    yield make
    for agent in made:
        agent.stop()
        sessions.end_for_user(agent.user.id, "logout")


def _endpoints(settings) -> str:
    from voxcast.runtime import asterisk
    return asterisk.cli(settings, "pjsip show endpoints")


def _ari(settings, path: str):
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req = urllib.request.Request(f"{settings.ari_url}{path}")
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _waiting_channel(settings) -> dict | None:
    """The caller's channel while it waits (one PSTN caller in the test)."""
    return next((c for c in _ari(settings, "/channels") if c["name"].startswith("PJSIP/pstn")),
                None)


def _music_on(settings, channel: dict) -> bool:
    """Is something generating audio into the channel? The music's 8 kHz files are signed
    linear, so the channel then writes slin (transcoded); an idle answered channel writes its
    native ulaw."""
    from voxcast.runtime import asterisk
    return "WriteFormat: slin" in asterisk.cli(settings, f"core show channel {channel['name']}")


def _announcement(settings, channel_id: str) -> dict | None:
    """The queue's announcement playing on the caller's channel now (the runner names its
    playbacks <channel>-qa<n>)."""
    for n in range(1, 15):
        try:
            return _ari(settings, f"/playbacks/{channel_id}-qa{n}")
        except urllib.error.HTTPError:
            continue
    return None


def _played(settings, playback_id: str, timeout: float = 15) -> list[str]:
    """The media of a playback in the order Asterisk plays them (polled until it ends)."""
    import time
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            playback = _ari(settings, f"/playbacks/{playback_id}")
        except urllib.error.HTTPError:
            break
        for uri in (playback.get("media_uri"), playback.get("next_media_uri")):
            if uri and uri not in seen:
                seen.append(uri)
        time.sleep(0.05)
    return seen


def _asterisk_log(settings):
    return settings.host_path(settings.ast_var) / "log" / "messages.log"


def _queue(tenant, members, **fields) -> Queue:
    n = next(_seq)
    values = dict(name=f"q-{n}", strategy="longest_idle", ring_seconds=3, max_wait_seconds=20,
                  announce_every_seconds=0, wrapup_seconds=1, fallback="message")
    values.update(fields)
    queue = Queue.create(tenant=tenant, **values)
    for agent, penalty in members:
        QueueMember.create(tenant=tenant, queue=queue, user=agent.user, penalty=penalty)
    return queue


def _did_to(tenant, queue) -> str:
    number = f"1555888{next(_seq):04d}"
    Did.create(number=number, tenant=tenant, route="queue", queue=queue)
    return number


def _call(settings, workdir, number: str, scenario: str = "uac_call_did.xml",
          hold_ms: int | None = None) -> Sipp:
    extra = ("-d", str(hold_ms)) if hold_ms is not None else ()
    return Sipp.uac(scenario, workdir, f"127.0.0.1:{settings.sip_port}", number,
                    port=settings.sip_port + 40 + next(_seq) % 10, extra=extra).start()


def _queue_call(queue) -> QueueCall:
    return wait_for(lambda: QueueCall.get_or_none(QueueCall.queue == queue.id,
                                                  QueueCall.ended_at.is_null(False)),
                    20, message="QueueCall closed")


def test_given_two_ready_agents_when_a_caller_rings_the_queue_then_the_longest_idle_answers(
        stasis_app, settings, master, workdir, agents):
    first, second = agents(2)
    first.login()
    second.login()  # logged in later: idle for less time
    queue = _queue(master, [(first, 0), (second, 0)], wrapup_seconds=2)
    did = _did_to(master, queue)
    first.answer(talk_ms=2000)
    second.answer()

    caller = _call(settings, workdir, did)
    wait_for(lambda: first.session().state == "on_call", 10, message="agent on the call")
    assert second.session().state == "ready"
    assert caller.wait(30) == 0, caller.diagnostics()  # the agent hung up: so did we

    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == first.user.id and qc.offers == 1
    assert qc.wait_seconds <= 3
    leg = Call.get_by_id(qc.agent_call_id)
    assert leg.direction == "agent" and leg.tenant_id == master.id
    assert leg.agent_id == first.user.id and leg.number == first.number
    wait_for(lambda: Call.get_by_id(qc.agent_call_id).ended_at is not None, 10,
             message="agent leg CDR closed")
    assert Call.get_by_id(qc.agent_call_id).disposition == "ANSWERED"
    customer = wait_for(lambda: Call.get_or_none(Call.id == qc.call_id,
                                                 Call.ended_at.is_null(False)), 10,
                        message="caller CDR closed")
    assert customer.agent_id == first.user.id and customer.did == did
    # wrap-up after the call, then ready again (the sweeper)
    assert first.session().state in ("wrapup", "ready")
    wait_for(lambda: first.session().state == "ready", 10, message="wrap-up over")
    assert second.invites() == 0


def test_given_an_agent_who_does_not_answer_when_offered_then_the_next_agent_gets_it_and_the_first_is_paused(
        stasis_app, settings, master, workdir, agents):
    master.agent_max_missed = 1
    master.save()
    try:
        deaf, good = agents(2)
        deaf.login()
        good.login()
        queue = _queue(master, [(deaf, 0), (good, 0)], ring_seconds=2)
        did = _did_to(master, queue)
        deaf.answer(scenario="uas_no_answer.xml")
        good.answer(talk_ms=1000)
        caller = _call(settings, workdir, did)
        assert caller.wait(40) == 0, caller.diagnostics()
        qc = _queue_call(queue)
        assert qc.outcome == "answered" and qc.agent_id == good.user.id and qc.offers == 2
        assert deaf.invites() == 1 and good.invites() == 1
        session = deaf.session()
        assert session.state == "paused" and session.pause_reason.system
        assert session.pause_reason.name == states.SYSTEM_PAUSE_NAME
    finally:
        master.agent_max_missed = 3
        master.save()


def test_given_agents_paused_or_unregistered_when_a_caller_waits_then_none_is_rung_and_the_message_plays_at_max_wait(
        stasis_app, settings, master, workdir, agents):
    paused, = agents(1)
    unregistered, = agents(1, register=False)
    s = paused.login()
    states.set_state(s.id, "paused")
    unregistered.login()
    queue = _queue(master, [(paused, 0), (unregistered, 0)], max_wait_seconds=3,
                   fallback="message", fallback_text="Sorry, nobody is here. Goodbye.")
    did = _did_to(master, queue)
    paused.answer()
    caller = _call(settings, workdir, did)
    assert caller.wait(40) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "timeout" and qc.agent_id is None and qc.offers == 0
    assert 3 <= qc.wait_seconds <= 5
    assert paused.invites() == 0
    assert unregistered.session().state == "ready"  # ready, but its phone is not registered


def test_given_a_waiting_caller_when_they_hang_up_then_the_queue_call_is_abandoned(
        stasis_app, settings, master, workdir, agents):
    """Meanwhile the caller hears the announcements every second."""
    busy, = agents(1)
    s = busy.login()
    states.set_state(s.id, "paused")
    queue = _queue(master, [(busy, 0)], max_wait_seconds=60, announce_every_seconds=1)
    did = _did_to(master, queue)
    log = _asterisk_log(settings)
    seen = log.stat().st_size
    caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=3500)
    channel = wait_for(lambda: _waiting_channel(settings), 5, message="caller's channel")["id"]
    playback = wait_for(lambda: _announcement(settings, channel), 5, message="announcement")
    assert playback["target_uri"] == f"channel:{channel}"
    assert playback["media_uri"].startswith("sound:vx-queue-position"), playback
    assert caller.wait(30) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "abandoned" and qc.agent_id is None
    assert 2 <= qc.wait_seconds <= 5
    with log.open(errors="replace") as fh:
        fh.seek(seen)
        new = fh.read()
    assert "does not exist" not in new, new[-2000:]  # every prompt was there to play


def test_given_nobody_logged_in_when_a_caller_rings_then_the_fallback_queue_takes_the_call(
        stasis_app, settings, master, workdir, agents):
    absent, helper = agents(2)
    helper.login()
    backup = _queue(master, [(helper, 0)])
    queue = _queue(master, [(absent, 0)], fallback="queue", fallback_queue=backup)
    did = _did_to(master, queue)
    helper.answer(talk_ms=1000)
    caller = _call(settings, workdir, did)
    assert caller.wait(30) == 0, caller.diagnostics()
    first = _queue_call(queue)
    assert first.outcome == "no_agents" and first.wait_seconds <= 1
    second = _queue_call(backup)
    assert second.outcome == "answered" and second.agent_id == helper.user.id
    assert second.call_id == first.call_id  # the same caller's CDR


def test_given_ring_all_when_a_caller_rings_then_every_ready_agent_rings_and_the_first_to_answer_takes_it(
        stasis_app, settings, master, workdir, agents):
    slow, quick = agents(2)
    slow.login()
    quick.login()
    queue = _queue(master, [(slow, 0), (quick, 0)], strategy="ring_all", ring_seconds=5)
    did = _did_to(master, queue)
    slow.answer(scenario="uas_no_answer.xml")  # rings until we cancel it
    quick.answer(talk_ms=1000)
    caller = _call(settings, workdir, did)
    assert caller.wait(30) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == quick.user.id
    assert slow.invites() == 1 and quick.invites() == 1
    assert slow.phone.wait(10) == 0, slow.phone.diagnostics()  # CANCELled
    wait_for(lambda: slow.session().state == "ready", 5, message="the other agent ready again")
    assert slow.session().missed_in_row == 0  # lost the race: not a miss


def test_given_round_robin_when_calls_come_one_after_another_then_agents_take_turns(
        stasis_app, settings, master, workdir, agents):
    a, b = agents(2)
    a.login()
    b.login()
    queue = _queue(master, [(a, 0), (b, 0)], strategy="round_robin", wrapup_seconds=0)
    did = _did_to(master, queue)
    a.answer(calls=2, talk_ms=500)
    b.answer(calls=2, talk_ms=500)
    taken = []
    for _ in range(4):
        caller = _call(settings, workdir, did)
        assert caller.wait(30) == 0, caller.diagnostics()
        qc = wait_for(lambda: QueueCall.select().where(QueueCall.queue == queue.id,
                                                       QueueCall.ended_at.is_null(False))
                      .count() == len(taken) + 1, 10, message="QueueCall closed")
        last = (QueueCall.select().where(QueueCall.queue == queue.id)
                .order_by(QueueCall.id.desc()).first())
        taken.append(last.agent_id)
        wait_for(lambda: all(x.session().state == "ready" for x in (a, b)), 5,
                 message="both ready")
    assert taken[0] != taken[1] and taken[0] == taken[2] and taken[1] == taken[3], taken


def test_given_penalties_when_both_are_ready_then_the_lower_penalty_agent_is_offered_first(
        stasis_app, settings, master, workdir, agents):
    senior, junior = agents(2)
    junior.login()  # longest idle, but the higher penalty
    senior.login()
    queue = _queue(master, [(senior, 0), (junior, 5)])
    did = _did_to(master, queue)
    senior.answer(talk_ms=500)
    junior.answer()
    caller = _call(settings, workdir, did)
    assert caller.wait(30) == 0, caller.diagnostics()
    assert _queue_call(queue).agent_id == senior.user.id
    assert junior.invites() == 0


def test_given_a_phone_of_the_tenant_when_it_dials_the_queue_number_then_an_agent_takes_the_call(
        stasis_app, agi_server, settings, master, workdir, agents):
    """The `queue` Stasis route: the dialplan's AGI sends a phone's call to a queue number into
    Stasis(app,queue,<tenant>,<queue>), with its own (internal, unrated) CDR."""
    agent, = agents(1)
    agent.login()
    number = f"5{next(_seq):03d}"
    queue = _queue(master, [(agent, 0)], number=number)
    caller_ext = Extension.create(number=f"74{next(_seq):03d}", secret=secrets.token_urlsafe(12),
                                  tenant=master)
    pjsip_sync.sync(settings)
    wait_for(lambda: f"Endpoint:  {caller_ext.number}" in _endpoints(settings), 10,
             message="caller's endpoint")
    agent.answer(talk_ms=1000)
    phone = dial(settings, workdir, caller_ext.number, caller_ext.secret, number,
                 settings.sip_port + 58, scenario="uac_phone_dial_until_bye.xml")
    assert phone.wait(30) == 0, phone.diagnostics() + agi_server.log_tail()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == agent.user.id
    customer = wait_for(lambda: Call.get_or_none(Call.id == qc.call_id,
                                                 Call.ended_at.is_null(False)), 10,
                        message="the phone's CDR closed")
    assert customer.direction == "internal" and customer.number == caller_ext.number
    assert customer.did == number and customer.tenant_id == master.id
    assert customer.disposition == "ANSWERED" and customer.cost is None


def test_given_voicemail_fallback_when_nobody_is_logged_in_then_the_message_is_e_mailed_to_the_tenant(
        stasis_app, settings, master, workdir, agents, smtp_peer):
    absent, = agents(1, register=False)
    old_email = master.email
    master.email = "queue-voicemail@example.test"
    master.save()
    try:
        queue = _queue(master, [(absent, 0)], fallback="voicemail")
        did = _did_to(master, queue)
        caller = _speaking_caller(settings, workdir, did, "Please call me back about my order.",
                                  lead_s=2.5, hangup_ms=7000, port=settings.sip_port + 57)
        caller.start()
        assert caller.wait(40) == 0, caller.diagnostics()
        assert _queue_call(queue).outcome == "no_agents"
        _check_voicemail(settings, smtp_peer, did, "queue-voicemail@example.test")
    finally:
        master.email = old_email
        master.save()


def test_given_an_agent_ringing_when_the_caller_hangs_up_then_the_phone_stops_and_the_agent_is_ready_without_a_miss(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    agent.login()
    queue = _queue(master, [(agent, 0)], ring_seconds=15)
    did = _did_to(master, queue)
    agent.answer(scenario="uas_no_answer.xml")  # rings until CANCELled
    caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=2500)
    wait_for(lambda: agent.session().state == "ringing", 10, message="agent ringing")
    assert caller.wait(30) == 0, caller.diagnostics()
    assert agent.phone.wait(10) == 0, agent.phone.diagnostics()  # CANCELled
    qc = _queue_call(queue)
    assert qc.outcome == "abandoned" and qc.agent_id is None
    wait_for(lambda: agent.session().state == "ready", 5, message="agent ready again")
    assert agent.session().missed_in_row == 0
    leg = wait_for(lambda: Call.get_or_none(Call.direction == "agent",
                                            Call.number == agent.number,
                                            Call.ended_at.is_null(False)), 10,
                   message="agent leg CDR closed")
    assert leg.answered_at is None and leg.cause_txt == "offer withdrawn"


def test_given_a_bridged_call_when_the_caller_hangs_up_then_the_agent_phone_is_hung_up_and_wraps_up(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    agent.login()
    queue = _queue(master, [(agent, 0)], wrapup_seconds=30)
    did = _did_to(master, queue)
    agent.answer(scenario="uas_answer.xml")  # talks until we hang up
    caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=3000)
    assert caller.wait(30) == 0, caller.diagnostics()
    assert agent.phone.wait(10) == 0, agent.phone.diagnostics()  # our BYE
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == agent.user.id
    session = wait_for(lambda: (s := agent.session()).state == "wrapup" and s, 5,
                       message="agent in wrap-up")
    assert 25 <= (session.wrapup_until - session.state_since).total_seconds() <= 30


def test_given_an_agent_on_a_direct_call_when_a_queue_call_comes_then_another_agent_is_offered_it(
        stasis_app, agi_server, settings, master, workdir, agents):
    """Ready in the console, but their phone is busy with a colleague's call (not an ACD call):
    PJSIP endpoint state shows its channel, so the queue call goes to the next agent."""
    talking, free = agents(2)
    talking.login()  # the longest idle
    free.login()
    queue = _queue(master, [(talking, 0), (free, 0)])
    did = _did_to(master, queue)
    colleague = Extension.create(number=f"74{next(_seq):03d}", secret=secrets.token_urlsafe(12),
                                 tenant=master)
    pjsip_sync.sync(settings)
    wait_for(lambda: f"Endpoint:  {colleague.number}" in _endpoints(settings), 10,
             message="colleague's endpoint")
    talking.answer(scenario="uas_answer.xml")  # takes the colleague's call, until its BYE
    free.answer(talk_ms=1000)
    direct = dial(settings, workdir, colleague.number, colleague.secret, talking.number,
                  settings.sip_port + 59, hold_ms=8000)
    wait_for(lambda: talking.invites() == 1, 10, message="the direct call rings the agent")
    wait_for(lambda: "Up" in _endpoint_channels(settings, talking.number), 10,
             message="the direct call answered")
    caller = _call(settings, workdir, did)
    assert caller.wait(30) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == free.user.id
    assert talking.invites() == 1  # only the colleague's call
    assert direct.wait(30) == 0, direct.diagnostics() + agi_server.log_tail()


def _endpoint_channels(settings, number: str) -> str:
    from voxcast.runtime import asterisk
    return asterisk.cli(settings, f"pjsip show endpoint {number}")


def test_given_ivr_fallback_when_the_wait_runs_out_then_the_caller_is_in_the_tenants_ivr(
        stasis_app, settings, master, workdir, agents):
    from models.entities import Ivr
    from voxcast.audio import sounds
    text = "This is the support menu after the queue."
    paused, = agents(1)
    states.set_state(paused.login().id, "paused")
    ivr = Ivr.create(tenant=master, name=f"after-queue-{next(_seq)}", tree=json.dumps(
        {"start": "a", "nodes": {"a": {"type": "say", "text": text}}}))
    queue = _queue(master, [(paused, 0)], max_wait_seconds=2, fallback="ivr", fallback_ivr=ivr)
    did = _did_to(master, queue)
    caller = _call(settings, workdir, did)
    assert caller.wait(40) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "timeout"
    said = sounds.duration_seconds(settings.sounds_dir / f"{sounds.tts_name(text)}.wav")
    msgs = caller.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    # the wait, then the IVR's prompt to its end, then our hang-up
    assert 2 + said - 0.3 <= (bye.at - ok.at).total_seconds() <= 2 + said + 2.5


def test_given_a_waiting_caller_when_the_last_member_logs_out_then_the_fallback_plays(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    session = agent.login()
    states.set_state(session.id, "paused")
    queue = _queue(master, [(agent, 0)], max_wait_seconds=120, fallback="message")
    did = _did_to(master, queue)
    caller = _call(settings, workdir, did)
    wait_for(lambda: QueueCall.get_or_none(QueueCall.queue == queue.id), 10,
             message="caller in the queue")
    sessions.logout(session.id)
    assert caller.wait(40) == 0, caller.diagnostics()  # the message, then our BYE
    qc = _queue_call(queue)
    assert qc.outcome == "no_agents" and qc.wait_seconds <= 16


def test_given_an_announcement_playing_when_an_agent_answers_then_the_caller_is_bridged_at_once(
        stasis_app, settings, master, workdir, agents):
    """Asterisk runs a channel's commands in order: the announcement is stopped first, or the
    bridging would wait for its end."""
    import datetime as dt
    agent, = agents(1)
    session = agent.login()
    states.set_state(session.id, "paused")
    queue = _queue(master, [(agent, 0)], announce_every_seconds=1, max_wait_seconds=30)
    did = _did_to(master, queue)
    agent.answer(talk_ms=1500)
    caller = _call(settings, workdir, did)
    channel = wait_for(lambda: _waiting_channel(settings), 5, message="caller waiting")["id"]
    wait_for(lambda: _announcement(settings, channel), 5, message="announcement playing")
    states.set_state(session.id, "ready")

    def bridged():
        return any(b["id"].startswith("vxab-") and channel in b["channels"]
                   and len(b["channels"]) == 2 for b in _ari(settings, "/bridges"))
    wait_for(bridged, 10, interval=0.05, message="caller bridged to the agent")
    at = dt.datetime.now()
    answer = next(m for m in agent.phone.messages() if m.sent and m.method == "200")
    assert (at - answer.at).total_seconds() < 1.5, (at, answer.at)
    assert caller.wait(30) == 0, caller.diagnostics()
    assert _queue_call(queue).outcome == "answered"


def test_given_a_busy_phone_when_offered_then_the_next_agent_takes_the_call(
        stasis_app, settings, master, workdir, agents):
    busy, good = agents(2)
    busy.login()
    good.login()
    queue = _queue(master, [(busy, 0), (good, 0)])
    did = _did_to(master, queue)
    busy.answer(scenario="uas_busy.xml")  # 486 Busy Here (do not disturb)
    good.answer(talk_ms=500)
    caller = _call(settings, workdir, did)
    assert caller.wait(30) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == good.user.id and qc.offers == 2
    assert busy.invites() == 1
    assert busy.session().missed_in_row == 1  # counted: a phone that refuses is not answering


def test_given_a_waiting_caller_then_music_on_hold_plays_on_the_channel_also_for_a_class_asterisk_does_not_know(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    states.set_state(agent.login().id, "paused")
    queue = _queue(master, [(agent, 0)], music_class="nosuchclass")
    did = _did_to(master, queue)
    caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=2500)
    channel = wait_for(lambda: _waiting_channel(settings), 5, message="caller's channel")
    wait_for(lambda: _music_on(settings, channel), 5, message="music on hold playing")
    assert caller.wait(30) == 0, caller.diagnostics()


def test_given_the_app_killed_while_an_agent_rings_when_it_is_back_then_the_agent_is_ready_and_the_wait_closed(
        stasis_app, settings, master, workdir, agents):
    import signal
    agent, = agents(1)
    agent.login()
    queue = _queue(master, [(agent, 0)], ring_seconds=30)
    did = _did_to(master, queue)
    agent.answer(scenario="uas_no_answer.xml")
    caller = _call(settings, workdir, did)
    wait_for(lambda: agent.session().state == "ringing", 10, message="agent ringing")
    stasis_app.stop(signal.SIGKILL)
    stasis_app.start()
    assert caller.wait(30) == 0, caller.diagnostics()  # hung up at adoption
    assert agent.phone.wait(30) == 0, agent.phone.diagnostics()  # its ringing stopped
    wait_for(lambda: agent.session().state == "ready", 10, message="agent ready again")
    qc = _queue_call(queue)
    assert qc.outcome == "abandoned" and qc.agent_id is None


def test_given_answered_calls_when_the_next_caller_waits_then_the_expected_wait_is_announced(
        stasis_app, settings, master, workdir, agents):
    """The expected wait is the moving average of the queue's answered waits: after one quick
    answer it is "about one minute"."""
    agent, = agents(1)
    session = agent.login()
    queue = _queue(master, [(agent, 0)], announce_every_seconds=1, wrapup_seconds=0)
    did = _did_to(master, queue)
    agent.answer(talk_ms=500)
    first = _call(settings, workdir, did)
    assert first.wait(30) == 0, first.diagnostics()
    wait_for(lambda: agent.session().state == "ready", 5, message="agent ready")
    states.set_state(session.id, "paused")
    caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=9000)
    channel = wait_for(lambda: _waiting_channel(settings), 5, message="caller's channel")["id"]
    playback = wait_for(lambda: _announcement(settings, channel), 5, message="announcement")
    heard = _played(settings, playback["id"])
    assert heard == ["sound:vx-queue-position", "number:1", "sound:vx-queue-wait",
                     "sound:vx-one-minute", "sound:vx-queue-thanks"], heard
    assert caller.wait(30) == 0, caller.diagnostics()
    assert _queue_call(queue).outcome in ("answered", "abandoned")
