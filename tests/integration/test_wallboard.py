"""The supervisor's wallboard and live statistics through the real Asterisk: a sipp caller rings
a DID routed to a queue, a sipp phone registered as the agent's extension answers. The web
process (`voxcast web`, logged in as a supervisor like a browser, cookies and CSRF token)
shows the caller waiting, then the agent on the call and both legs talking; the supervisor's
forced logout from the wallboard ends the agent's session, and once the call is over nothing
is left in the live list."""
from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request

from voxcast.accounts.passwords import hash_password

from models import User
from models.entities import AgentSession
from voxcast.agents import states

from .conftest import wait_for
from .test_queues import _call, _did_to, _queue, agents  # noqa: F401  (agents: the fixture)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """The supervisor's browser as far as the server can tell: a cookie jar, the CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as resp:
            return resp.read().decode()

    def json(self, path: str) -> dict:
        return json.loads(self.get(path))

    def post(self, path: str, data: dict, token_from: str) -> str:
        token = CSRF.search(self.get(token_from)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        with self.opener.open(self.base + path, data=body, timeout=10) as resp:
            return resp.read().decode()

    def login(self, username: str, password: str) -> None:
        page = self.post("/login", {"username": username, "password": password}, "/login")
        assert "Log out" in page, page[:500]


def _call_of(board: dict, **match) -> dict | None:
    return next((c for c in board["calls"]
                 if all(c.get(k) == v for k, v in match.items())), None)


def _agent_of(board: dict, agent) -> dict:
    return next((a for a in board["agents"] if a["user_id"] == agent.user.id), {"state": None})


def _board_when(browser: Browser, condition) -> dict | None:
    board = browser.json("/supervisor/wallboard.json")
    print("wallboard:", json.dumps(board))  # the last one is shown when the test fails
    return board if condition(board) else None


def test_given_a_queue_caller_and_an_agent_when_the_supervisor_watches_then_the_wallboard_shows_them_and_a_forced_logout_ends_the_session(
        stasis_app, web, settings, master, workdir, agents):  # noqa: F811
    boss = User.create(tenant=master, username="wb-supervisor", role="supervisor",
                       password_hash=hash_password("Supervisor-Pass-1"))
    agent, = agents(1)
    session = agent.login()
    assert states.set_state(session.id, "paused")  # the caller waits until the agent is ready
    queue = _queue(master, [(agent, 0)], max_wait_seconds=60, ring_seconds=10, wrapup_seconds=0)
    did = _did_to(master, queue)
    agent.answer(talk_ms=12000)
    browser = Browser(f"http://127.0.0.1:{settings.web_port}")
    browser.login(boss.username, "Supervisor-Pass-1")

    caller = _call(settings, workdir, did)
    board = wait_for(lambda: _board_when(browser, lambda b: _call_of(b, queue=queue.name,
                                                                     state="queued")),
                     15, message="the caller waiting on the wallboard")
    waiting = _call_of(board, queue=queue.name, state="queued")
    assert waiting["leg"] == "queue" and waiting["did"] == did
    row = next(q for q in board["queues"] if q["queue_id"] == queue.id)
    assert row["waiting"] == 1 and row["logged_in"] == 1 and row["ready"] == 0
    me = _agent_of(board, agent)
    assert me["state"] == "paused" and me["extension"] == agent.number

    assert states.set_state(session.id, "ready")  # the agent is back: the ACD offers the call
    board = wait_for(lambda: _board_when(browser, lambda b: _agent_of(b, agent)["state"]
                                         == "on_call" and _call_of(b, call_id=waiting["call_id"],
                                                                   state="talking")),
                     20, message="the agent on the call on the wallboard")
    me = _agent_of(board, agent)
    assert me["call"]["call_id"] == waiting["call_id"] and me["call"]["state"] == "talking"
    talking = _call_of(board, call_id=waiting["call_id"])
    assert talking["agent"] == agent.user.username and talking["queue"] == queue.name
    leg = _call_of(board, leg="agent", agent_id=agent.user.id)
    assert leg is not None and leg["state"] == "talking" and leg["number"] == agent.number
    live = browser.json("/supervisor/live.json")["calls"]
    assert {c["call_id"] for c in live} >= {waiting["call_id"], leg["call_id"]}
    csv_text = browser.get("/supervisor/live.csv")
    assert agent.user.username in csv_text and "talking" in csv_text

    page = browser.post(f"/supervisor/agents/{agent.user.id}/logout", {}, "/supervisor/")
    assert f"{agent.user.username} is logged out." in page
    ended = AgentSession.get_by_id(session.id)
    assert ended.ended_at is not None and ended.end_reason == "supervisor"
    assert ended.state == "logged_out"
    board = browser.json("/supervisor/wallboard.json")
    assert all(a["user_id"] != agent.user.id for a in board["agents"])

    # the call itself runs to its end (the agent's phone hangs up), then nothing is live
    assert caller.wait(40) == 0, caller.diagnostics()
    wait_for(lambda: not [c for c in browser.json("/supervisor/live.json")["calls"]
                          if c["call_id"] in (waiting["call_id"], leg["call_id"])], 15,
             message="the ended calls leave the live list")
    assert AgentSession.get_or_none(AgentSession.user == agent.user.id,
                                    AgentSession.ended_at.is_null()) is None
