"""Predictive pacing of Voice Agent campaigns: the pure decision (voxcast.dialing.predictive),
its properties in simulated runs (bench/pacing.py's simulation, short shifts), the figures the
dialer reads from the database, and the campaign settings through the portal and the API."""
from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from models import Call, Campaign, Tenant, User
from models.entities import AgentSession, Extension, QueueCall
from voxcast.dialing import predictive, voice_agent
from voxcast.dialing.pacing import agent_lines
from voxcast.dialing.predictive import CampaignHistory, LiveFigures, PacingSettings, decide

from .api_support import master_api  # noqa: F401  (fixture)

PREDICTIVE = PacingSettings("predictive", 1.0, 3.0, wrapup_s=10, grace_s=2)
# A campaign some way into its run: 30 % answer, 3 min calls, 12 s to a live answer, 1 % abandoned.
STEADY = CampaignHistory(window_placed=1000, window_live=300, window_abandoned=3,
                         live_total=1000, abandoned_total=10, handle_mean_s=180,
                         handle_sd_s=120, answer_delay_s=12)


def test_given_no_working_agent_then_nothing_is_dialled_whatever_the_figures():
    for figures in (LiveFigures(), LiveFigures(history=STEADY),
                    LiveFigures(ringing_elapsed=(1.0, 2.0), waiting=1, history=STEADY)):
        assert decide(PREDICTIVE, figures).lines == 0
        assert decide(PacingSettings("ratio", 3.0), figures).lines == 0


@pytest.mark.parametrize("ratio", [1.0, 1.15, 2.0, 3.0, 5.0])
@pytest.mark.parametrize("ready, ringing, waiting", [(0, 0, 0), (20, 0, 0), (20, 5, 2),
                                                     (3, 10, 0)])
def test_given_ratio_mode_then_the_lines_are_todays_agent_lines(ratio, ready, ringing, waiting):
    figures = LiveFigures(ready=ready, ringing_elapsed=(1.0,) * ringing, waiting=waiting,
                          on_call_elapsed=(500.0,) * 4, history=STEADY)
    got = decide(PacingSettings("ratio", ratio), figures)
    assert got.lines == agent_lines(ratio, ready, ringing + waiting)
    assert got.mode == "ratio"


def test_given_agents_about_to_be_free_then_more_lines():
    idle = decide(PREDICTIVE, LiveFigures(ready=2, on_call_elapsed=(5.0,) * 10, history=STEADY))
    wrapping = decide(PREDICTIVE, LiveFigures(ready=2, on_call_elapsed=(5.0,) * 5,
                                              wrapup_left=(3.0,) * 5, history=STEADY))
    assert wrapping.lines > idle.lines + 5  # five agents leave wrap-up before calls answer
    # A call that has run long is (under the lognormal fit) likelier to end in the next seconds
    # than one just begun: agents whose talk is long under way count a little.
    long_calls = decide(PREDICTIVE, LiveFigures(ready=2, on_call_elapsed=(900.0,) * 10,
                                                history=STEADY))
    assert long_calls.lines >= idle.lines


def test_given_calls_in_progress_then_fewer_new_ones():
    base = decide(PREDICTIVE, LiveFigures(ready=10, history=STEADY)).lines
    ringing = decide(PREDICTIVE, LiveFigures(ready=10, ringing_elapsed=(2.0,) * 10,
                                             history=STEADY)).lines
    waiting = decide(PREDICTIVE, LiveFigures(ready=10, waiting=5, history=STEADY)).lines
    assert base > ringing and base > waiting
    assert 0 <= waiting < base


def test_given_a_lower_answer_rate_then_more_lines_per_agent():
    low = CampaignHistory(**{**STEADY.__dict__, "window_live": 150})
    high = CampaignHistory(**{**STEADY.__dict__, "window_live": 600})
    assert (decide(PREDICTIVE, LiveFigures(ready=10, history=low)).lines
            > decide(PREDICTIVE, LiveFigures(ready=10, history=high)).lines)


def test_given_the_abandon_rate_near_the_cap_then_the_pace_throttles():
    def lines(abandoned_total, window_abandoned):
        hist = CampaignHistory(**{**STEADY.__dict__, "abandoned_total": abandoned_total,
                                  "window_abandoned": window_abandoned})
        return decide(PREDICTIVE, LiveFigures(ready=10, wrapup_left=(4.0,) * 20,
                                              history=hist))
    calm, warm, hot = lines(0, 0), lines(25, 8), lines(29, 12)
    assert calm.lines > warm.lines > hot.lines
    assert calm.target_pct > warm.target_pct > hot.target_pct
    assert hot.mode == "predictive"


def test_given_the_budget_spent_then_only_ready_agents_are_dialled_for():
    spent = CampaignHistory(**{**STEADY.__dict__, "abandoned_total": 31})  # 3.1 % of 1000
    got = decide(PREDICTIVE, LiveFigures(ready=4, wrapup_left=(1.0,) * 30,
                                         on_call_elapsed=(900.0,) * 30, history=spent))
    assert got.mode == "capped"
    assert 0 < got.lines <= 4 / predictive.answer_rate(spent)  # ratio 1 / answer rate at most
    none_ready = decide(PREDICTIVE, LiveFigures(ready=0, wrapup_left=(1.0,) * 30, history=spent))
    assert none_ready.lines == 0


def test_given_no_history_then_the_priors_are_cautious():
    first = decide(PREDICTIVE, LiveFigures(ready=50))
    # Before any call is decided, every line is taken to become a person: about one per agent
    # (the budget, 3 % of the expected answers, allows one abandon in 50 at most).
    assert 50 <= first.lines <= 51
    assert predictive.answer_rate(CampaignHistory()) == predictive.PRIOR_ANSWER_RATE


def test_the_cap_is_bounded_and_the_target_within_a_tenth_and_one_and_a_half_of_it():
    assert PacingSettings(abandon_cap_pct=50).cap == 0.10
    assert PacingSettings(abandon_cap_pct=0).cap == 0.005
    for ab in range(0, 40, 3):
        hist = CampaignHistory(live_total=1000, abandoned_total=ab, window_live=300,
                               window_abandoned=ab // 3)
        assert 0.03 / 10 <= predictive.target_rate(0.03, hist) <= 0.045


# -- simulated runs (bench/pacing.py) ----------------------------------------------------------

def _bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "pacing.py"
    spec = importlib.util.spec_from_file_location("bench_pacing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_pacing", module)  # its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("agents, rate, seed", [(20, 0.15, 1), (20, 0.6, 2), (50, 0.3, 3)])
def test_given_simulated_runs_then_the_abandon_rate_stays_under_the_cap(agents, rate, seed):
    bench = _bench()
    settings = PacingSettings("predictive", 1.0, 3.0, bench.WRAPUP_S, bench.GIVE_UP_S)
    result = bench.Sim(agents, rate, seed, 1.0, settings).run()
    assert result.live > 100
    assert result.abandon_pct <= 3.0
    assert result.occupancy > 0.6  # and the agents do get calls


def test_given_a_tighter_cap_then_fewer_abandons_in_simulation():
    bench = _bench()
    loose = bench.Sim(20, 0.3, 4, 1.0, PacingSettings("predictive", 1.0, 5.0, 10, 2)).run()
    tight = bench.Sim(20, 0.3, 4, 1.0, PacingSettings("predictive", 1.0, 1.0, 10, 2)).run()
    assert tight.abandon_pct <= 1.0
    assert tight.abandon_pct < loose.abandon_pct


# -- the dialer's figures from the database ----------------------------------------------------

@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def _campaign(master, **fields):
    return Campaign.create(tenant=master, name="P", type="voice_agent", **fields)


def test_abandon_totals_are_kept_incrementally_and_match_a_recount(master, make_group):
    c = _campaign(master, group=make_group(master, phones=["+12025550101"]))
    now = dt.datetime(2026, 12, 2, 12, 0, 0)
    rows = []
    for i, outcome in enumerate(["answered", "abandoned", "answered", "", "abandoned"]):
        rows.append(QueueCall.create(tenant=master, campaign=c, outcome=outcome,
                                     entered_at=now - dt.timedelta(minutes=30 - i)))
    totals = voice_agent.abandon_totals(master.id, c.id, None, now)
    assert (totals.live, totals.abandoned) == (5, 2)
    # The open one closes abandoned, new rows arrive: the next refresh counts each once.
    QueueCall.update(outcome="abandoned").where(QueueCall.id == rows[3].id).execute()
    QueueCall.create(tenant=master, campaign=c, outcome="answered",
                     entered_at=now + dt.timedelta(seconds=30))
    later = now + dt.timedelta(minutes=2)
    totals = voice_agent.abandon_totals(master.id, c.id, totals, later)
    assert (totals.live, totals.abandoned) == (6, 3)
    again = voice_agent.abandon_totals(master.id, c.id, totals, later + dt.timedelta(minutes=5))
    assert (again.live, again.abandoned) == (6, 3)
    assert again.settled_at > totals.settled_at


def test_campaign_history_and_figures(master, make_group):
    c = _campaign(master, group=make_group(master, phones=["+12025550101"]))
    now = dt.datetime(2026, 12, 2, 12, 0, 0)
    for i in range(10):  # 10 placed, 6 answered by a person (2 abandoned), 4 not
        started = now - dt.timedelta(minutes=5, seconds=i)
        call = Call.create(tenant=master, campaign=c, number="+12025550101",
                           channel_id=f"vx-p-{i}", started_at=started,
                           ended_at=started + dt.timedelta(seconds=60))
        if i < 6:
            entered = started + dt.timedelta(seconds=10)
            answered = entered + dt.timedelta(seconds=1) if i >= 2 else None
            QueueCall.create(tenant=master, campaign=c, call=call, entered_at=entered,
                             answered_at=answered,
                             ended_at=answered + dt.timedelta(seconds=100) if answered else entered,
                             outcome="answered" if answered else "abandoned")
    totals = voice_agent.abandon_totals(master.id, c.id, None, now)
    hist = voice_agent.campaign_history(master.id, c.id, totals, now)
    assert (hist.window_placed, hist.window_live, hist.window_abandoned) == (10, 6, 2)
    assert (hist.live_total, hist.abandoned_total) == (6, 2)
    assert hist.answer_delay_s == pytest.approx(10.0)
    assert hist.handle_mean_s is None  # 4 talks: too few, the prior is used
    voice_agent.publish_pacing(c.id, {"level": 1.8, "mode": "predictive", "target_pct": 2.5})
    figures = predictive.campaign_figures(master.id, c.id, dt.datetime.utcnow())
    assert figures["live_answered"] == 6 and figures["abandon_pct"] == 33.33
    assert figures["dial_level"] == 1.8 and figures["pacing"] == "predictive"


def test_agent_snapshot_reads_states(master):
    users = [User.create(username=f"ag{i}", tenant=master, role="agent", password_hash="x")
             for i in range(4)]
    now = dt.datetime.utcnow()
    for i, (user, state) in enumerate(zip(users, ("ready", "on_call", "wrapup", "paused"))):
        ext = Extension.create(tenant=master, number=f"70{i}", user=user, secret="s" * 16)
        AgentSession.create(tenant=master, user=user, extension=ext, state=state,
                            state_since=now - dt.timedelta(seconds=30),
                            wrapup_until=now + dt.timedelta(seconds=5) if state == "wrapup"
                            else None)
    snap = voice_agent.agent_snapshot(master.id, [u.id for u in users])
    assert snap.ready_extensions == ("700",)
    assert len(snap.on_call_since) == 1 and len(snap.wrapup_until) == 1


# -- settings through the portal and the API ---------------------------------------------------

FORM = {"name": "Agents", "channel_limit": "3", "dial_timeout": "30", "retry_busy": "0",
        "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "retry_machine": "0", "amd_action": "hangup", "repeat_count": "1", "ivr": "0",
        "type": "voice_agent", "message_text": "", "caller_id": "", "dial_ratio": "1.5",
        "wrapup_seconds": "20", "script": "", "web_form_url": ""}


def test_given_predictive_pacing_in_the_portal_then_it_is_saved_and_shown(auth, master,
                                                                         make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id),
                                        "pacing_mode": "predictive", "abandon_cap_pct": "2.5"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    c = Campaign.get()
    assert (c.pacing_mode, c.abandon_cap_pct) == ("predictive", Decimal("2.50"))
    page = auth.client.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "predictive, abandon cap 2.5 %" in page and "Dial level" in page
    form = auth.client.get(f"/campaigns/{c.id}/edit").get_data(as_text=True)
    assert 'value="predictive" selected' in form or 'selected value="predictive"' in form


@pytest.mark.parametrize("field, value", [("abandon_cap_pct", "0.4"),
                                          ("abandon_cap_pct", "10.5"),
                                          ("pacing_mode", "turbo")])
def test_given_a_bad_pacing_value_then_portal_and_api_refuse_it(
        auth, master_api, master, make_group, field, value):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), field: value})
    assert resp.status_code == 400
    api_value = float(value) if field == "abandon_cap_pct" else value
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Agents", "group_id": group.id, "type": "voice_agent", field: api_value})
    assert api.status_code == 422, api.json
    assert Campaign.select().count() == 0


def test_given_the_api_then_pacing_round_trips(master_api, master, make_group, settings):
    from voxcast.campaigns import editing
    from voxcast.campaigns.errors import CampaignInputError
    group = make_group(master, phones=["+12025550101"])
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Agents", "group_id": group.id, "type": "voice_agent",
        "pacing_mode": "predictive", "abandon_cap_pct": 1.5})
    assert api.status_code == 201, api.json
    assert (api.json["pacing_mode"], api.json["abandon_cap_pct"]) == ("predictive", 1.5)
    got = master_api.patch(f"/api/v1/campaigns/{api.json['id']}", json={"pacing_mode": "ratio"})
    assert got.json["pacing_mode"] == "ratio" and got.json["abandon_cap_pct"] == 1.5
    with pytest.raises(CampaignInputError):  # past the schema, the service refuses it too
        editing.update(Campaign.get_by_id(api.json["id"]), {"abandon_cap_pct": "nan"},
                       settings=settings, actor=editing.Actor(None))


def test_the_dialers_plan_carries_the_pacing(master, make_group):
    from voxcast.dialing import campaign_plans
    c = _campaign(master, group=make_group(master, phones=["+12025550101"]),
                  pacing_mode="predictive", abandon_cap_pct=Decimal("2.00"))
    plan = campaign_plans.plans_of([c.id])[0]
    assert (plan.pacing_mode, plan.abandon_cap_pct) == ("predictive", 2.0)


# -- the same figures on PostgreSQL (the production backend) -----------------------------------

@pytest.fixture
def pg():
    import models
    from tests.pg_support import postgres_url
    url = postgres_url("voxcast_h13a_pacing")
    if url is None:
        pytest.skip("PostgreSQL could not be started here")
    models.init_database(url)
    models.database.drop_tables(models.ALL_MODELS, safe=True, cascade=True)
    models.bootstrap(admin_password="x-admin-secret", master_password="x-master-secret")
    yield url
    models.database.close()


def test_given_postgresql_then_the_figures_queries_count_the_same(pg):
    acme = Tenant.create(name="Acme", slug="acme")
    c = Campaign.create(tenant=acme, name="P", type="voice_agent")
    now = dt.datetime(2026, 12, 2, 12, 0, 0)
    for i, outcome in enumerate(["answered"] * 6 + ["abandoned", ""]):
        started = now - dt.timedelta(minutes=10 - i)
        call = Call.create(tenant=acme, campaign=c, number="+12025550101",
                           channel_id=f"vx-pg-{i}", started_at=started,
                           ended_at=started + dt.timedelta(seconds=90))
        entered = started + dt.timedelta(seconds=8)
        answered = entered + dt.timedelta(seconds=1) if outcome == "answered" else None
        QueueCall.create(tenant=acme, campaign=c, call=call, entered_at=entered,
                         answered_at=answered, outcome=outcome,
                         ended_at=answered + dt.timedelta(seconds=60) if answered else None)
    totals = voice_agent.abandon_totals(acme.id, c.id, None, now)
    assert (totals.live, totals.abandoned) == (8, 1)
    hist = voice_agent.campaign_history(acme.id, c.id, totals, now)
    assert (hist.window_placed, hist.window_live, hist.window_abandoned) == (8, 8, 1)
    assert hist.handle_mean_s == pytest.approx(60.0) and hist.answer_delay_s == pytest.approx(8.0)
    again = voice_agent.abandon_totals(acme.id, c.id, totals, now + dt.timedelta(minutes=1))
    assert (again.live, again.abandoned) == (8, 1)
