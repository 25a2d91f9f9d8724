"""The report pages through the Flask client: the four statistics with their CSV in the
viewer's zone, the builder (preview without saving, a bad choice explained, save, list,
rename, run, export, delete), roles, features, CSRF and another tenant's saved report."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from models import Call, Tenant, User
from models.entities import AgentSession, AgentStateLog, Campaign, SavedReport
from tests.unit.agents_support import make_agent
from voxcast.reports import saved

_channels = itertools.count(1)


@pytest.fixture
def master(app, auth):
    auth.login()
    tenant = Tenant.get(Tenant.slug == "master")
    Tenant.update(timezone="America/New_York").where(Tenant.id == tenant.id).execute()
    return tenant


def call(tenant, started_at, **fields):
    fields.setdefault("number", "+12025550101")
    return Call.create(tenant=tenant, channel_id=f"c{next(_channels)}", started_at=started_at,
                       **fields)


def test_the_four_statistics_pages_and_csv_in_the_viewers_zone(master, client):
    alice = make_agent(master, "alice")
    s = AgentSession.create(tenant=master, user=alice)
    # 04:00-06:00 UTC on 11-30 is 23:00-01:00 in New York: one hour on each local day
    AgentStateLog.create(tenant=master, session=s, user=alice, state="ready",
                         started_at=dt.datetime(2026, 11, 30, 4), ended_at=dt.datetime(2026, 11, 30, 6))
    spring = Campaign.create(tenant=master, name="Spring")
    call(master, dt.datetime(2026, 11, 30, 12), campaign=spring, disposition="ANSWERED",
         agent=alice, agent_disposition="Sale")
    html = client.get("/reports/agents?start=2026-11-30&end=2026-11-30").get_data(as_text=True)
    assert "America/New_York" in html
    row = html[html.index('data-user="alice"'):]
    assert "<td>1:00:00</td>" in row[:row.index("</tr>")]
    lines = client.get("/reports/agents.csv?start=2026-11-29&end=2026-11-30").get_data(
        as_text=True).splitlines()
    assert lines[1].startswith("alice,,7200,7200,")
    res = client.get("/reports/dispositions.csv?start=2026-11-30&end=2026-11-30")
    assert res.mimetype == "text/csv" and "alice,Spring,1,1" in res.get_data(as_text=True)
    assert "Sale" in client.get("/reports/dispositions?start=2026-11-30&end=2026-11-30").get_data(
        as_text=True)
    assert client.get("/reports/queues?target=abc").status_code == 200
    assert client.get("/reports/queues.csv").get_data(as_text=True).startswith(
        "queue,target_s,offered")
    html = client.get("/reports/campaigns?start=2026-11-30&end=2026-11-30").get_data(as_text=True)
    assert 'data-campaign="Spring"' in html
    res = client.get("/reports/campaigns.csv?start=2026-11-30&end=2026-11-30")
    assert ('filename="campaign-statistics-2026-11-30-2026-11-30-America-New_York.csv"'
            in res.headers["Content-Disposition"])
    assert res.get_data(as_text=True).splitlines()[1].startswith("Spring,voice_message,1,0,1,")


BUILDER = ("/reports/builder?source=calls&g=day&g=disposition&f=day&f=disposition&f=count"
           "&f=sum:billsec&start=2026-11-30&end=2026-11-30&sort=count&desc=1")


def test_builder_preview_save_rename_run_export_delete(master, client, auth):
    for hour in (5, 6, 7):
        call(master, dt.datetime(2026, 11, 30, hour), disposition="ANSWERED", billsec=10)
    call(master, dt.datetime(2026, 11, 30, 8), disposition="BUSY")
    html = client.get(BUILDER + "&run=1").get_data(as_text=True)
    assert 'id="report-result"' in html
    assert "<td>ANSWERED</td>" in html and SavedReport.select().count() == 0
    definition = json.loads(_hidden(html, "definition"))
    assert definition["group_by"] == ["day", "disposition"]
    csv = client.get(BUILDER.replace("/reports/builder?", "/reports/builder.csv?")).get_data(
        as_text=True).splitlines()
    assert csv == ["Day,Disposition,Count,Sum of talk time", "2026-11-30,ANSWERED,3,30",
                   "2026-11-30,BUSY,1,0"]
    res = auth.post("/reports/builder/save", {"definition": json.dumps(definition),
                                              "name": "Daily dispositions"})
    row = SavedReport.get(SavedReport.name == "Daily dispositions")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/reports/saved/{row.id}")
    assert row.owner_id == User.get(User.username == "master").id
    again = auth.post("/reports/builder/save", {"definition": json.dumps(definition),
                                                "name": "Daily dispositions"},
                      follow_redirects=True)
    assert "exists already" in again.get_data(as_text=True)
    assert "Daily dispositions" in client.get("/reports/saved/").get_data(as_text=True)
    html = client.get(f"/reports/saved/{row.id}?start=2026-11-30&end=2026-11-30").get_data(
        as_text=True)
    assert "<td>BUSY</td>" in html
    auth.post(f"/reports/saved/{row.id}/rename", {"name": "Per disposition"})
    assert SavedReport.get_by_id(row.id).name == "Per disposition"
    res = client.get(f"/reports/saved/{row.id}.csv?start=2026-11-30&end=2026-11-30")
    assert res.get_data(as_text=True).splitlines()[1] == "2026-11-30,ANSWERED,3,30"
    assert 'name="f" value="disposition" checked' in client.get(
        f"/reports/builder?saved={row.id}").get_data(as_text=True)
    auth.post(f"/reports/saved/{row.id}/delete")
    assert SavedReport.select().count() == 0


def _hidden(html: str, name: str) -> str:
    import html as h
    start = html.index(f'name="{name}" value="') + len(f'name="{name}" value="')
    return h.unescape(html[start:html.index('"', start)])


def test_a_bad_choice_is_explained_and_nothing_runs(master, client):
    res = client.get("/reports/builder?source=calls&f=number&f=count&g=campaign&run=1")
    assert res.status_code == 400
    html = res.get_data(as_text=True)
    assert "neither grouped by nor an aggregate" in html and 'id="report-result"' not in html
    res = client.get("/reports/builder?source=calls&f=nonsense&run=1")
    assert "unknown field" in res.get_data(as_text=True)


def test_another_tenants_saved_report_is_not_found(app, make_tenant, auth, client):
    other, owner = make_tenant("other")
    theirs = saved.create(other.id, owner, "Theirs", {"source": "calls", "fields": ["count"]})
    auth.login()
    for url in (f"/reports/saved/{theirs.id}", f"/reports/saved/{theirs.id}.csv",
                f"/reports/builder?saved={theirs.id}"):
        assert client.get(url).status_code == 404
    assert auth.post(f"/reports/saved/{theirs.id}/delete").status_code == 404
    assert SavedReport.get_by_id(theirs.id).name == "Theirs"


def test_without_the_csrf_token_nothing_is_saved(master, client):
    res = client.post("/reports/builder/save", data={
        "definition": json.dumps({"source": "calls", "fields": ["count"]}), "name": "X"})
    assert res.status_code == 400 and SavedReport.select().count() == 0


@pytest.mark.parametrize("role,status", [("supervisor", 200), ("user", 403), ("agent", 403)])
def test_who_may_build_reports(app, make_tenant, auth, client, role, status):
    _tenant, user = make_tenant("acme", role=role)
    auth.login(user.username, f"pw-{user.username}")
    assert client.get("/reports/builder").status_code == status
    assert client.get("/reports/agents").status_code == status
    assert client.get("/reports/campaigns").status_code == (403 if role == "agent" else 200)


def test_queue_statistics_page_each_queue_against_its_own_target(master, client):
    """Fast (10 s) and Slow (30 s) with the same answered waits 5, 15, 25, 45 s: 25 % and 75 %
    against their own targets, shown in the Target column; ?target=20 makes both 50 %."""
    from models.entities import Queue, QueueCall
    for name, seconds in (("Fast", 10), ("Slow", 30)):
        q = Queue.create(tenant=master, name=name, service_level_seconds=seconds)
        for wait in (5, 15, 25, 45):
            QueueCall.create(tenant=master, queue=q, outcome="answered", wait_seconds=wait,
                             entered_at=dt.datetime(2026, 11, 30, 12))

    def cells(html, name):
        row = html[html.index(f'data-queue="{name}"'):]
        return row[:row.index("</tr>")]

    html = client.get("/reports/queues?start=2026-11-30&end=2026-11-30").get_data(as_text=True)
    assert "Target (s)" in html and "own target (the Target column" in html
    assert '<td class="num target">10</td>' in cells(html, "Fast") and "25.0" in cells(html, "Fast")
    assert '<td class="num target">30</td>' in cells(html, "Slow") and "75.0" in cells(html, "Slow")
    html = client.get("/reports/queues?start=2026-11-30&end=2026-11-30&target=20").get_data(
        as_text=True)
    assert "within 20 seconds" in html
    for name in ("Fast", "Slow"):
        assert '<td class="num target">20</td>' in cells(html, name) and "50.0" in cells(html, name)
    lines = client.get("/reports/queues.csv?start=2026-11-30&end=2026-11-30").get_data(
        as_text=True).splitlines()
    assert lines[1].startswith("Fast,10,4,4,") and ",25.0," in lines[1]
    assert lines[2].startswith("Slow,30,4,4,") and ",75.0," in lines[2]
    lines = client.get("/reports/queues.csv?start=2026-11-30&end=2026-11-30&target=20").get_data(
        as_text=True).splitlines()
    assert lines[1].startswith("Fast,20,") and lines[2].startswith("Slow,20,")
    html = client.get("/reports/queues?start=2026-11-30&end=2026-11-30&target=9999").get_data(
        as_text=True)
    assert "The service level target was not used (9999 is not 1 to 3600 seconds)" in html
    assert '<td class="num target">10</td>' in cells(html, "Fast")
