"""The report rollups and live campaign counters (models.rollups triggers): after random
changes through the real writers (campaign start, claims with the DNC gate, CDR closes,
answers, costs, interactive results, wrap-up call-backs, agent state moves, deletions), they
equal a full recount, on SQLite and PostgreSQL; the CDR summary and agent times read them
correctly in zones that are not whole hours from UTC; m0008 fills them on an existing
database."""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from peewee import Value, fn

import models
from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant, User
from models.entities import AgentSession, AgentStateLog, PauseReason, QueueCall
from models.migrations import upgrade
from models.migrations.history import SchemaMigration
from tests.pg_support import postgres_url
from voxcast.agents import states
from voxcast.campaigns import flows_config, lifecycle
from voxcast.campaigns import services as campaign_service
from voxcast.cdr.records import Cdrs, mark_answered, open_inbound
from voxcast.config import Settings
from voxcast.contacts import dnc as dnc_service
from voxcast.dialing.admission import Admission, DncCheck
from voxcast.dialing.claims import Claims
from voxcast.ivr.flow_store import set_result
from voxcast.reports import agent_time, cdr_summary, rollups
from voxcast.reports.period import ReportPeriod, zone_of

T0 = dt.datetime(2026, 11, 1, 17, 50, 0)


def _sqlite(tmp_path):
    return f"sqlite:///{tmp_path / 'rollups.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        url = _sqlite(tmp_path)
    else:
        url = postgres_url("voxcast_rollups_test")
        if url is None:
            pytest.skip("PostgreSQL is not available here")
    models.init_database(url)
    models.create_schema()
    yield request.param
    models.database.close()


@pytest.fixture
def sqlite_db(tmp_path):
    models.init_database(_sqlite(tmp_path))
    models.create_schema()
    yield models.database
    models.database.close()


def old_progress(campaign: Campaign) -> dict:
    """The three GROUP BY scans progress_many ran before the counters: the recount."""
    p = campaign_service._empty_progress(campaign)
    for disposition, n in (Call.select(Call.disposition, fn.COUNT(Call.id))
                           .where(Call.campaign == campaign.id, Call.direction == "outbound")
                           .group_by(Call.disposition).tuples()):
        campaign_service._count_call(p, disposition, n)
    for state, n in (CampaignContact.select(CampaignContact.state, fn.COUNT(CampaignContact.id))
                     .where(CampaignContact.campaign == campaign.id)
                     .group_by(CampaignContact.state).tuples()):
        campaign_service._count_entry(p, state, n)
    for result, n in (CampaignContact.select(CampaignContact.result, fn.COUNT(CampaignContact.id))
                      .where(CampaignContact.campaign == campaign.id,
                             CampaignContact.result != "")
                      .group_by(CampaignContact.result).tuples()):
        if result in p:
            p[result] += n
    if campaign.type == "voice_agent":
        for outcome, n in (QueueCall.select(QueueCall.outcome, fn.COUNT(QueueCall.id))
                           .where(QueueCall.campaign == campaign.id)
                           .group_by(QueueCall.outcome).tuples()):
            campaign_service._count_agent_call(p, outcome, n)
        p["abandon_rate"] = campaign_service.abandon_rate(p["abandoned"], p["agent_calls"])
    return p


def _world(tmp_path, n_contacts=40):
    settings = Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root")
    acme = Tenant.create(name="Acme", slug="acme")
    other = Tenant.create(name="Other", slug="other")
    group = ContactGroup.create(tenant=acme, name="g")
    Contact.insert_many([{"tenant": acme, "group": group, "phone": f"+1202555{i:04d}"}
                         for i in range(n_contacts)]).execute()
    campaigns = []
    for name, kind in (("broadcast", "voice_message"), ("agents", "voice_agent")):
        campaign = Campaign.create(tenant=acme, name=name, group=group, type=kind,
                                   message_file=f"m-{name}", retry_busy=1, retry_noanswer=1,
                                   retry_interval=0, status="running")
        campaigns.append(campaign)
        settings.sounds_dir.mkdir(parents=True, exist_ok=True)
        (settings.sounds_dir / f"m-{name}.wav").write_bytes(b"RIFF")
    CampaignContact.insert_from(
        Contact.select(Contact.tenant, Value(campaigns[1].id), Contact.id, Contact.phone,
                       Value("pending"), Value(0), Value(T0), Value(""), Value(""))
        .where(Contact.group == group),
        [CampaignContact.tenant, CampaignContact.campaign, CampaignContact.contact,
         CampaignContact.phone, CampaignContact.state, CampaignContact.attempts,
         CampaignContact.next_attempt_at, CampaignContact.last_disposition,
         CampaignContact.result]).execute()  # a bulk insert, as the start does
    agent = User.create(tenant=acme, username="agent1", role="agent", password_hash="x")
    reason = PauseReason.create(tenant=acme, name="Lunch")
    session = AgentSession.create(tenant=acme, user=agent, state="ready", started_at=T0)
    AgentStateLog.create(tenant=acme, session=session, user=agent, state="ready", started_at=T0)
    return settings, acme, other, campaigns, agent, reason, session


def test_given_random_changes_through_the_writers_then_rollups_equal_a_recount(backend, tmp_path):
    settings, acme, other, campaigns, agent, reason, session = _world(tmp_path)
    broadcast, agents = campaigns
    with pytest.raises(Exception):  # voice_agent has no agents: start refused, nothing counted
        campaign_service.start(agents, settings)
    campaign_service.start(broadcast, settings)
    CampaignContact.update(next_attempt_at=T0).execute()  # due at the test's clock
    lifecycle.mark_running(agents)
    claims = Claims(Admission([DncCheck()]))
    cdrs = Cdrs(claims.admission)
    rng = random.Random(13)
    now = T0
    dnc_service.add(acme.id, ["+12025550003", "+12025550007"], "manual")
    state = "ready"
    for step in range(400):
        now += dt.timedelta(seconds=rng.randint(1, 400))
        op = rng.random()
        open_calls = [c.id for c in Call.select(Call.id).where(Call.ended_at.is_null())]
        if op < 0.25:
            claims.claim_due(rng.choice(campaigns).id, rng.randint(1, 4), now)
        elif op < 0.5 and open_calls:
            call_id = rng.choice(open_calls)
            answered = now - dt.timedelta(seconds=rng.randint(0, 60)) if rng.random() < 0.5 else None
            cdrs.finish_call(call_id, answered, now, rng.choice([16, 17, 19, 34]), "cause",
                             rang=rng.random() < 0.9, machine=rng.random() < 0.1)
        elif op < 0.55 and open_calls:
            mark_answered(rng.choice(open_calls), now)
        elif op < 0.62:
            closed = [c.id for c in Call.select(Call.id).where(Call.ended_at.is_null(False))]
            if closed:  # billing rates a closed call (and may rate it again)
                Call.update(cost=Decimal(rng.randint(0, 999)) / 100).where(
                    Call.id == rng.choice(closed)).execute()
        elif op < 0.67:
            entries = [e.id for e in CampaignContact.select(CampaignContact.id)]
            set_result(rng.choice(entries), rng.choice(flows_config.RESULTS + ("",)))
        elif op < 0.72:
            entry = CampaignContact.select().where(CampaignContact.state != "pending").first()
            if entry is not None:  # a wrap-up's "call back at": queued again
                CampaignContact.update(state="pending", next_attempt_at=now).where(
                    CampaignContact.id == entry.id).execute()
        elif op < 0.74:
            call_id = open_inbound(acme.id, "15551230000", "+12025559999", f"in-{step}")
            Call.update(agent=agent, started_at=now).where(Call.id == call_id).execute()
            QueueCall.create(tenant=acme, campaign=agents, call=call_id,
                             outcome=rng.choice(["", "answered", "abandoned"]))
        elif op < 0.76:
            QueueCall.update(outcome=rng.choice(["answered", "abandoned", "transferred"])).where(
                QueueCall.id == QueueCall.select(fn.MAX(QueueCall.id))).execute()
        elif op < 0.765:  # a contact added to the group, then a resume queues them too
            Contact.create(tenant=acme, group=broadcast.group_id, phone=f"+1303555{step:04d}")
            campaign_service.resume(Campaign.get_by_id(broadcast.id), settings)
        elif op < 0.77:
            victim = Contact.select().order_by(fn.RANDOM()).first()
            if victim is not None:  # cascades to its campaign entries
                victim.delete_instance()
        elif op < 0.95:
            to = rng.choice(sorted(states.MOVES[state] - {"logged_out"}))
            if states.set_state(session.id, to, now=now,
                                pause_reason_id=reason.id if to == "paused" and rng.random() < 0.5
                                else None):
                state = to
        else:
            Call.create(tenant=other, number="+1", channel_id=f"o-{step}", started_at=now,
                        disposition=rng.choice(["ANSWERED", "BUSY"]), billsec=rng.randint(0, 90))
        if step % 100 == 99:
            assert rollups.differences() == {}, f"after step {step}"
            for campaign in campaigns:
                campaign = Campaign.get_by_id(campaign.id)
                assert campaign_service.progress(campaign) == old_progress(campaign)
    states.set_state(session.id, "logged_out", now=now + dt.timedelta(minutes=1))
    assert rollups.differences() == {}
    progress = campaign_service.progress(Campaign.get_by_id(broadcast.id))
    assert progress["dialed"] > 20 and progress["dnc"] >= 1 and progress["completed"] > 0
    assert AgentStateLog.select().where(AgentStateLog.ended_at.is_null(False)).count() > 20
    # and the rebuild lands on the same rows
    before = rollups.snapshot()
    rollups.rebuild()
    assert rollups.snapshot() == before


def test_given_a_campaign_deleted_then_its_counters_go_and_nothing_is_left_behind(sqlite_db, tmp_path):
    settings, acme, other, campaigns, *_ = _world(tmp_path, n_contacts=5)
    campaign_service.start(campaigns[0], settings)
    Claims(Admission([DncCheck()])).claim_due(campaigns[0].id, 3, T0)
    campaigns[0].delete_instance()
    assert rollups.differences() == {}
    Tenant.get_by_id(acme.id).delete_instance()  # cascades through every raw table
    assert rollups.differences() == {}


def _call(tenant, at, campaign=None, disposition="ANSWERED", direction="outbound", **kw):
    return Call.create(tenant=tenant, campaign=campaign, number="+12025550101", started_at=at,
                       ended_at=at + dt.timedelta(seconds=30), channel_id=f"c-{at}-{direction}",
                       disposition=disposition, direction=direction, **kw)


@pytest.mark.parametrize("zone, boundary", [("Asia/Kolkata", dt.datetime(2026, 11, 1, 18, 30)),
                                            ("Asia/Kathmandu", dt.datetime(2026, 11, 1, 18, 15)),
                                            ("America/New_York", dt.datetime(2026, 11, 2, 5, 0))])
def test_given_a_zone_off_the_hour_then_the_summary_splits_days_at_its_midnight(sqlite_db, zone,
                                                                                 boundary):
    acme = Tenant.create(name="Acme", slug="acme")
    camp = Campaign.create(tenant=acme, name="Zeta")
    second = dt.timedelta(seconds=1)
    _call(acme, boundary - second, camp, billsec=10, cost=Decimal("0.10"))
    _call(acme, boundary, camp, disposition="BUSY")
    _call(acme, boundary + 100 * second, None, disposition="NO ANSWER")
    _call(acme, boundary, None, direction="agent")  # a leg of a call: not counted again
    _call(acme, boundary + dt.timedelta(hours=3), camp, billsec=20)  # a whole hour of day 2
    period = ReportPeriod(dt.date(2026, 11, 1), dt.date(2026, 11, 2), zone_of(zone))
    rows = cdr_summary.summary(acme.id, period)
    assert [(r.day.day, r.campaign, r.calls, r.answered, r.unanswered, r.billsec, r.cost)
            for r in rows] == [(1, "Zeta", 1, 1, 0, 10, Decimal("0.1000")),
                               (2, "", 1, 0, 1, 0, Decimal("0.0000")),
                               (2, "Zeta", 2, 1, 1, 20, Decimal("0.0000"))]


def test_given_a_period_off_the_quarter_hour_then_the_summary_counts_raw_rows_the_same(sqlite_db):
    acme = Tenant.create(name="Acme", slug="acme")
    _call(acme, dt.datetime(1900, 1, 1, 12, 0), billsec=5)
    period = ReportPeriod(dt.date(1900, 1, 1), dt.date(1900, 1, 1), zone_of("Asia/Kolkata"))
    assert period.since.minute % 15 != 0  # +5:53:20 local mean time then
    [row] = cdr_summary.summary(acme.id, period)
    assert (row.calls, row.answered, row.billsec) == (1, 1, 5)


def test_given_states_across_quarter_hours_then_totals_are_exact_in_any_zone(sqlite_db):
    acme = Tenant.create(name="Acme", slug="acme")
    user = User.create(tenant=acme, username="a1", role="agent", password_hash="x")
    reason = PauseReason.create(tenant=acme, name="Lunch")
    session = AgentSession.create(tenant=acme, user=user)
    # Kathmandu's 2 November starts at 18:15 UTC on 1 November
    for state, start, end, why in (
            ("paused", (18, 0), (18, 45), reason),      # 30 min after 18:15
            ("on_call", (18, 45), (19, 7, 30), None),  # 22.5 min
            ("logged_out", (19, 7, 30), (19, 8), None),  # not login time
            ("ready", (19, 8), None, None)):            # open: up to now
        AgentStateLog.create(tenant=acme, session=session, user=user, state=state,
                             pause_reason=why, started_at=dt.datetime(2026, 11, 1, *start),
                             ended_at=dt.datetime(2026, 11, 1, *end) if end else None)
    now = dt.datetime(2026, 11, 1, 19, 10)
    period = ReportPeriod(dt.date(2026, 11, 2), dt.date(2026, 11, 2), zone_of("Asia/Kathmandu"))
    times = agent_time.totals(acme.id, period, now=now)[user.id]
    assert (times.paused, times.talk, times.ready) == (1800.0, 1350.0, 120.0)
    assert times.login == 1800 + 1350 + 120 and times.pause_by_reason == {reason.id: 1800.0}
    assert agent_time.totals(acme.id, period, [user.id + 1], now=now) == {}
    # the same figures from the raw log (what an unaligned period would use)
    raw = defaultdict(agent_time.AgentTimes)
    agent_time._raw(raw, acme.id, period.since, period.until, now, None, open_only=False)
    assert raw[user.id] == times


def test_given_an_existing_database_when_m0008_runs_then_the_rollups_are_filled(sqlite_db):
    acme = Tenant.create(name="Acme", slug="acme")
    _call(acme, dt.datetime(2026, 10, 5, 9, 0), billsec=42)
    expected = rollups.snapshot()
    assert expected["call_quarter"]
    # as before m0008: no triggers, no rollup tables, m0008 not recorded
    models.rollups.drop_triggers(models.database)
    models.database.drop_tables(models.entities.ROLLUP_MODELS)
    SchemaMigration.delete().where(SchemaMigration.name == "m0008_report_rollups").execute()
    assert upgrade() == ["m0008_report_rollups"]
    assert models.rollups.installed(models.database)
    assert rollups.snapshot() == expected


def test_given_rollups_out_of_step_when_reports_rebuild_runs_then_check_passes(tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    from voxcast import cli
    url = _sqlite(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    models.init_database(url)
    models.create_schema()
    acme = Tenant.create(name="Acme", slug="acme")
    _call(acme, dt.datetime(2026, 10, 5, 9, 0), billsec=42)
    models.database.execute_sql("UPDATE call_quarter SET calls = 7")  # as after a bad restore
    assert cli.main(["reports", "check"]) == 1
    assert "call_quarter: 1 rows differ" in capsys.readouterr().out
    assert cli.main(["reports", "rebuild"]) == 0
    assert "rollups rebuilt" in capsys.readouterr().out
    assert cli.main(["reports", "check"]) == 0
    models.database.close()


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
                                  "Australia/Lord_Howe", "Pacific/Chatham"])
def test_given_random_calls_over_a_dst_change_then_the_summary_equals_a_python_count(sqlite_db,
                                                                                    zone):
    acme = Tenant.create(name="Acme", slug="acme")
    camps = [Campaign.create(tenant=acme, name=f"C{i}") for i in range(3)]
    rng = random.Random(zone)
    start = dt.datetime(2026, 10, 1)
    for i in range(600):  # New York's and Lord Howe's DST change fall in these days
        at = start + dt.timedelta(seconds=rng.randint(0, 40 * 86400))
        Call.create(tenant=acme, campaign=rng.choice(camps + [None]), number="+1", started_at=at,
                    channel_id=f"r-{i}", direction=rng.choice(["outbound", "inbound", "agent"]),
                    disposition=rng.choice(["ANSWERED", "BUSY", ""]), billsec=rng.randint(0, 99))
    period = ReportPeriod(dt.date(2026, 10, 3), dt.date(2026, 11, 6), zone_of(zone))
    expected: dict = {}
    for c in Call.select().where(Call.direction != "agent"):
        if period.since <= c.started_at < period.until:
            acc = expected.setdefault((period.local_day(c.started_at), c.campaign_id), [0, 0, 0])
            acc[0] += 1
            acc[1] += c.disposition == "ANSWERED"
            acc[2] += c.billsec
    got = {(r.day, r.campaign_id): [r.calls, r.answered, r.billsec]
           for r in cdr_summary.summary(acme.id, period)}
    assert got == expected


def test_given_concurrent_writers_on_postgresql_then_the_counters_stay_exact(tmp_path):
    """Four connections at once move entries of one campaign and write its CDRs, each change
    its own transaction: the counters' n = n + 1 upserts serialise on their rows."""
    import threading
    url = postgres_url("voxcast_rollups_test")
    if url is None:
        pytest.skip("PostgreSQL is not available here")
    models.init_database(url)
    models.create_schema()
    settings, acme, _other, campaigns, *_ = _world(tmp_path, n_contacts=200)
    campaign = campaigns[1]
    entries = [e.id for e in CampaignContact.select(CampaignContact.id)
               .where(CampaignContact.campaign == campaign.id)]
    models.database.close()
    errors = []

    def work(part: int) -> None:
        rng = random.Random(part)
        try:
            for entry_id in entries[part::4]:
                for state in ("dialing", "done" if rng.random() < 0.7 else "failed"):
                    with models.database.atomic():
                        CampaignContact.update(state=state).where(
                            CampaignContact.id == entry_id).execute()
                with models.database.atomic():
                    call = Call.create(tenant=acme.id, campaign=campaign.id, entry=entry_id,
                                       number="+1", channel_id=f"t{part}-{entry_id}",
                                       started_at=T0)
                with models.database.atomic():
                    Call.update(disposition=rng.choice(["ANSWERED", "BUSY"]), ended_at=T0,
                                billsec=rng.randint(0, 60)).where(Call.id == call.id).execute()
        except Exception as exc:  # reported below, with the thread's part
            errors.append((part, exc))
        finally:
            models.database.close()

    threads = [threading.Thread(target=work, args=(part,)) for part in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rollups.differences() == {}
    progress = campaign_service.progress(Campaign.get_by_id(campaign.id))
    assert progress == old_progress(Campaign.get_by_id(campaign.id))
    assert progress["dialed"] == 200 and progress["completed"] + progress["given_up"] == 200
    models.database.close()
