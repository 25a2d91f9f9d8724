"""The CDR detail report and the CDR summary (issue 13 item 4): every filter of
voxcast.cdr.search, days in the viewer's zone around local midnight and a DST change, the
keyset export, the portal's pages (list, CSV, a call's page, the summary with its chart data
and CSV, the reports menu) and the API (/api/v1/cdrs, /cdrs/{id}, /recording,
/reports/cdr-summary), each scoped to the tenant."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from models import Call, Campaign, Tenant, User
from models.entities import Queue, QueueCall
from voxcast.cdr import search
from voxcast.reports import cdr_summary, cdr_totals
from voxcast.reports.period import ReportPeriod

from .api_support import Api, admin_api, tenant_key  # noqa: F401  (fixtures)
from .conftest import CSRF_RE

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
_seq = iter(range(1, 10**6))


def cdr(tenant, when: dt.datetime, **fields) -> Call:
    fields.setdefault("number", "+12025550100")
    fields.setdefault("disposition", "ANSWERED")
    return Call.create(tenant=tenant, channel_id=f"ch-{next(_seq)}", started_at=when, **fields)


def login(client, user: User) -> None:
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": user.username,
                                       "password": f"pw-{user.username}",
                                       "csrf_token": token}).status_code == 302


@pytest.fixture
def acme(app, make_tenant):
    """A tenant in New York with two campaigns, a queue, an agent and calls on both sides of
    its midnight of 10/11 November 2026 (05:00 UTC), and a rival tenant with its own."""
    tenant, admin = make_tenant("acme", timezone="America/New_York")
    other, other_admin = make_tenant("globex")
    spring = Campaign.create(tenant=tenant, name="Spring", type="voice_message")
    autumn = Campaign.create(tenant=tenant, name="Autumn", type="voice_message")
    rival = Campaign.create(tenant=other, name="Rival", type="voice_message")
    queue = Queue.create(tenant=tenant, name="Sales")
    rival_queue = Queue.create(tenant=other, name="Rival sales")
    ann = User.create(tenant=tenant, username="ann", role="agent", first_name="Ann",
                      last_name="Agent", password_hash="x")
    bob = User.create(tenant=other, username="bob", role="agent", password_hash="x")
    c = {
        # 23:59 local on 10 Nov
        "late": cdr(tenant, dt.datetime(2026, 11, 11, 4, 59, 30), campaign=spring,
                    number="+12025550101", billsec=30, duration=40, cost=Decimal("0.0300")),
        # 00:00:30 local on 11 Nov
        "early": cdr(tenant, dt.datetime(2026, 11, 11, 5, 0, 30), campaign=spring,
                     number="+12025550102", disposition="NO ANSWER", duration=30),
        "busy": cdr(tenant, dt.datetime(2026, 11, 11, 15, 0), campaign=autumn,
                    number="+12025550103", disposition="BUSY"),
        "inbound": cdr(tenant, dt.datetime(2026, 11, 11, 16, 0), direction="inbound",
                       number="+14155550199", did="+12125550000", billsec=60, duration=65,
                       cost=Decimal("0.0600")),
        "leg": cdr(tenant, dt.datetime(2026, 11, 11, 16, 0, 5), direction="agent",
                   number="7001", agent=ann, billsec=55, duration=58,
                   agent_disposition="Sold", notes="=SUM(A1) wants gold"),
        "theirs": cdr(other, dt.datetime(2026, 11, 11, 15, 0), campaign=rival,
                      number="+12025550101", agent=bob),
    }
    QueueCall.create(tenant=tenant, queue=queue, call=c["inbound"], agent=ann,
                     agent_call=c["leg"], caller="+14155550199", outcome="answered",
                     entered_at=c["inbound"].started_at, wait_seconds=5)
    QueueCall.create(tenant=other, queue=rival_queue, call=c["theirs"], caller="x")
    return {"tenant": tenant, "admin": admin, "other": other, "other_admin": other_admin,
            "spring": spring, "autumn": autumn, "rival": rival, "queue": queue,
            "rival_queue": rival_queue, "ann": ann, "bob": bob, **c}


def ids(tenant, args: dict, zone=NY) -> set[int]:
    f = search.parse(tenant.id, args, zone, strict=True)
    return {c.id for c in search.query(tenant.id, f)}


NOV = {"start": "2026-11-01", "end": "2026-11-30"}


# -- filters ----------------------------------------------------------------------------------

def test_given_local_days_then_the_calls_fall_on_the_viewers_side_of_midnight(acme):
    t = acme["tenant"]
    assert ids(t, {"start": "2026-11-10", "end": "2026-11-10"}) == {acme["late"].id}
    assert acme["late"].id not in ids(t, {"start": "2026-11-11", "end": "2026-11-11"})
    assert acme["early"].id in ids(t, {"start": "2026-11-11", "end": "2026-11-11"})
    # in UTC both are on the 11th
    assert {acme["late"].id, acme["early"].id} <= ids(
        t, {"start": "2026-11-11", "end": "2026-11-11"}, zone=UTC)
    assert acme["late"].id not in ids(t, {"start": "2026-11-10", "end": "2026-11-10"}, zone=UTC)


def test_given_a_dst_change_then_the_local_day_has_its_25_hours(app, make_tenant):
    tenant, _ = make_tenant("berlin")
    # 25 Oct 2026: CEST -> CET at 03:00 local; the day runs 24 Oct 22:00 to 25 Oct 23:00 UTC
    first = cdr(tenant, dt.datetime(2026, 10, 24, 22, 0, 0))
    last = cdr(tenant, dt.datetime(2026, 10, 25, 22, 59, 59))
    before = cdr(tenant, dt.datetime(2026, 10, 24, 21, 59, 59))
    after = cdr(tenant, dt.datetime(2026, 10, 25, 23, 0, 0))
    assert ids(tenant, {"start": "2026-10-25", "end": "2026-10-25"}, BERLIN) == {first.id, last.id}
    assert before.id in ids(tenant, {"start": "2026-10-24", "end": "2026-10-24"}, BERLIN)
    assert after.id in ids(tenant, {"start": "2026-10-26", "end": "2026-10-26"}, BERLIN)


def test_each_filter_finds_its_calls_and_only_the_tenants(acme):
    t = acme["tenant"]
    every = {acme[k].id for k in ("late", "early", "busy", "inbound", "leg")}
    assert ids(t, {}) == every  # no dates: every day
    assert ids(t, NOV) == every
    assert ids(t, {**NOV, "number": "5550101"}) == {acme["late"].id}
    assert ids(t, {**NOV, "number": "+1212555"}) == {acme["inbound"].id}  # the DID
    assert ids(t, {**NOV, "direction": "inbound"}) == {acme["inbound"].id}
    assert ids(t, {**NOV, "direction": "agent"}) == {acme["leg"].id}
    assert ids(t, {**NOV, "disposition": "no answer"}) == {acme["early"].id}
    assert ids(t, {**NOV, "disposition": "BUSY"}) == {acme["busy"].id}
    assert ids(t, {**NOV, "campaign": str(acme["spring"].id)}) == {acme["late"].id,
                                                                     acme["early"].id}
    # a queue: the caller's CDR and the agent leg that answered it
    assert ids(t, {**NOV, "queue": str(acme["queue"].id)}) == {acme["inbound"].id,
                                                               acme["leg"].id}
    assert ids(t, {**NOV, "agent": str(acme["ann"].id)}) == {acme["leg"].id}
    assert ids(t, {**NOV, "campaign": str(acme["spring"].id), "disposition": "ANSWERED"}) == {
        acme["late"].id}


def test_another_tenants_ids_are_not_found_and_bad_values_are_named(acme):
    t = acme["tenant"]
    for name, row in (("campaign", "rival"), ("queue", "rival_queue"), ("agent", "bob")):
        with pytest.raises(search.CdrFilterError) as err:
            search.parse(t.id, {name: str(acme[row].id)}, NY)
        assert err.value.status == 404 and err.value.field == name
    for args, field in (({"direction": "sideways"}, "direction"), ({"number": "12%"}, "number"),
                        ({"campaign": "abc"}, "campaign"), ({"start": "2026-13-01"}, "start"),
                        ({"start": "2026-11-30", "end": "2026-11-01"}, "start"),
                        ({"disposition": "X" * 33}, "disposition")):
        with pytest.raises(search.CdrFilterError) as err:
            search.parse(t.id, args, NY, strict=True)
        assert err.value.status == 400 and err.value.field == field
    # the portal ignores what it cannot read
    f = search.parse(t.id, {"direction": "sideways", "number": "12%"}, NY)
    assert (f.direction, f.number) == ("", "")


def test_batches_walk_every_row_once_newest_first_across_equal_times(app, make_tenant):
    tenant, _ = make_tenant("bulk")
    same = dt.datetime(2026, 11, 5, 12, 0)
    made = [cdr(tenant, same) for _ in range(7)] + \
        [cdr(tenant, same - dt.timedelta(minutes=i)) for i in range(1, 6)]
    f = search.parse(tenant.id, {}, UTC)
    batches = list(search.batches(tenant.id, f, batch=3))
    seen = [c.id for b in batches for c in b]
    assert sorted(seen) == sorted(c.id for c in made) and len(seen) == len(set(seen))
    assert all(len(b) <= 3 for b in batches)
    assert seen == [c.id for c in search.query(tenant.id, f)]


# -- the portal -------------------------------------------------------------------------------

def test_call_records_page_filters_shows_local_times_queue_and_agent(acme, client):
    login(client, acme["admin"])
    html = client.get(f"/cdrs/?start=2026-11-10&end=2026-11-10").get_data(as_text=True)
    assert "2026-11-10 23:59:30" in html and "America/New_York" in html
    assert "+12025550102" not in html
    html = client.get(f"/cdrs/?queue={acme['queue'].id}").get_data(as_text=True)
    assert "Sales" in html and "Ann Agent" in html and "Sold" in html
    assert "+12025550103" not in html
    assert client.get(f"/cdrs/?campaign={acme['rival'].id}").status_code == 404
    assert client.get(f"/cdrs/?agent={acme['bob'].id}").status_code == 404
    assert "Rival" not in client.get("/cdrs/").get_data(as_text=True)


def test_call_records_page_says_when_its_dates_were_not_used(acme, client):
    """Like the other report pages: a date that cannot be read is named, not ignored."""
    login(client, acme["admin"])
    html = client.get("/cdrs/?start=2026-13-01").get_data(as_text=True)
    assert "The dates were not used (dates must be YYYY-MM-DD); showing this month so far." \
        in html
    html = client.get("/cdrs/?start=2026-11-30&end=2026-11-01").get_data(as_text=True)
    assert "The dates were not used (the range must run forwards" in html
    for fine in ("/cdrs/?start=2026-11-10&end=2026-11-10", "/cdrs/"):
        assert "The dates were not used" not in client.get(fine).get_data(as_text=True)
    csv_text = client.get("/cdrs/export.csv?start=2026-13-01").get_data(as_text=True)
    assert "were not used" not in csv_text
    assert "The dates were not used" not in client.get("/cdrs/").get_data(as_text=True)


def test_csv_export_streams_the_filtered_list_in_the_viewers_zone(acme, client):
    login(client, acme["admin"])
    res = client.get(f"/cdrs/export.csv?start=2026-11-11&end=2026-11-11&direction=agent")
    assert res.status_code == 200 and res.is_streamed
    assert res.mimetype == "text/csv"
    assert res.headers["Content-Disposition"].endswith(
        'filename="cdrs-2026-11-11-2026-11-11-America-New_York.csv"')
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][1] == "started_at (America/New_York)"
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["id"] == str(acme["leg"].id) and row["queue"] == "Sales"
    assert row["agent"] == "Ann Agent" and row["agent_disposition"] == "Sold"
    assert row["started_at (America/New_York)"] == "2026-11-11 11:00:05"
    assert row["notes"] == "'=SUM(A1) wants gold"  # no formula
    every = list(csv.reader(io.StringIO(client.get("/cdrs/export.csv").get_data(as_text=True))))
    assert len(every) == 6 and "+12025550101" in {r[5] for r in every}
    assert all(r[0] != str(acme["theirs"].id) for r in every[1:])


def test_a_calls_page_shows_everything_of_it_and_another_tenants_is_404(acme, client, settings):
    leg = acme["leg"]
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    (settings.recordings_dir / "leg.wav").write_bytes(b"RIFF0000WAVEfmt ")
    Call.update(recording="leg.wav", cause_txt="Normal Clearing", hangup_cause=16).where(
        Call.id == leg.id).execute()
    login(client, acme["admin"])
    html = client.get(f"/cdrs/{leg.id}").get_data(as_text=True)
    for text in ("Ann Agent", "Sales", "Sold", "Normal Clearing", "2026-11-11 11:00:05",
                 "America/New_York", f"/cdrs/{leg.id}/recording", "Download recording",
                 f"/cdrs/{acme['inbound'].id}", "=SUM(A1) wants gold"):
        assert text in html, text
    assert client.get(f"/cdrs/{leg.id}/recording").data[:4] == b"RIFF"
    assert client.get(f"/cdrs/{acme['theirs'].id}").status_code == 404
    assert client.get(f"/cdrs/{acme['theirs'].id}/recording").status_code == 404


def test_cdr_summary_page_chart_data_and_csv_per_local_day_and_campaign(acme, client):
    login(client, acme["admin"])
    html = client.get("/reports/cdr-summary?start=2026-11-10&end=2026-11-11").get_data(
        as_text=True)
    assert "America/New_York" in html and 'id="chart-days"' in html
    assert "/static/vendor/chart.umd.min.js" in html and "<script>" not in html
    data = client.get("/reports/cdr-summary.json?start=2026-11-10&end=2026-11-11").get_json()
    assert data["zone"] == "America/New_York"
    assert data["days"] == {"labels": ["2026-11-10", "2026-11-11"], "answered": [1, 1],
                            "unanswered": [0, 2]}  # the agent leg is not a call of its own
    assert data["campaigns"] == {"labels": ["Autumn", "Spring", "No campaign"],
                                 "answered": [0, 1, 1], "unanswered": [1, 1, 0]}
    rows = list(csv.reader(io.StringIO(client.get(
        "/reports/cdr-summary.csv?start=2026-11-10&end=2026-11-11").get_data(as_text=True))))
    assert rows[0] == cdr_totals.CSV_HEADER
    assert rows[-1] == ["total", "", "", "4", "2", "2", "50.00", "90", "0.0900"]
    assert ["2026-11-10", str(acme["spring"].id), "Spring", "1", "1", "0", "100.00", "30",
            "0.0300"] in rows
    # the rival's calls are not counted
    assert "Rival" not in html


def test_fold_fills_every_day_and_totals(acme):
    period = ReportPeriod(dt.date(2026, 11, 9), dt.date(2026, 11, 12), NY)
    s = cdr_totals.fold(period, cdr_summary.summary(acme["tenant"].id, period))
    assert [d.day.day for d in s.days] == [9, 10, 11, 12]
    assert [d.calls for d in s.days] == [0, 1, 3, 0]
    assert (s.total.calls, s.total.answered, s.total.billsec) == (4, 2, 90)
    assert s.total.answer_rate == Decimal("50.00") and s.days[0].answer_rate is None


def test_reports_menu_lists_what_the_viewer_may_open(acme, client, make_tenant):
    login(client, acme["admin"])
    html = client.get("/reports/").get_data(as_text=True)
    for url in ("/reports/cdr-summary", "/cdrs/", "/reports/agents", "/supervisor/live"):
        assert f'href="{url}"' in html, url
    assert 'href="/reports/"' in html  # the nav link
    t = acme["tenant"]
    t.features = " ".join(x for x in t.features.split() if x != "reports")
    t.save()
    html = client.get("/reports/").get_data(as_text=True)
    assert 'href="/reports/cdr-summary"' not in html and 'href="/cdrs/"' in html
    assert client.get("/reports/cdr-summary").status_code == 403


# -- the API ----------------------------------------------------------------------------------

@pytest.fixture
def acme_api(acme, client):
    from voxcast.accounts import api_keys
    _, secret = api_keys.create(tenant_id=acme["tenant"].id, user=acme["admin"], name="k")
    return Api(client, secret)


def test_api_lists_cdrs_with_the_same_filters_and_paging(acme, acme_api):
    res = acme_api.get(f"/api/v1/cdrs?queue_id={acme['queue'].id}&per_page=1")
    body = res.get_json()
    assert res.status_code == 200 and body["total"] == 2 and len(body["items"]) == 1
    assert body["items"][0]["id"] == acme["leg"].id  # newest first
    assert body["items"][0]["agent"] == "Ann Agent" and body["items"][0]["queue"] == "Sales"
    body = acme_api.get("/api/v1/cdrs?start=2026-11-10&end=2026-11-10").get_json()
    assert [c["id"] for c in body["items"]] == [acme["late"].id]
    assert body["items"][0]["started_at"] == "2026-11-11T04:59:30Z"
    assert body["items"][0]["cost"] == "0.0300" and body["zone"] == "America/New_York"
    body = acme_api.get("/api/v1/cdrs?start=2026-11-10&end=2026-11-10&zone=UTC").get_json()
    assert body["items"] == []
    res = acme_api.get("/api/v1/cdrs?direction=sideways")
    assert res.status_code == 400 and "direction" in res.get_json()["error"]["fields"]
    assert acme_api.get("/api/v1/cdrs?zone=Mars/Base").status_code == 400
    assert acme_api.get("/api/v1/cdrs?start=2026-11-31").status_code == 400
    assert acme_api.get(f"/api/v1/cdrs?campaign_id={acme['rival'].id}").status_code == 404


def test_api_one_cdr_its_recording_and_another_tenants(acme, acme_api, settings):
    leg = acme["leg"]
    assert acme_api.get(f"/api/v1/cdrs/{leg.id}").get_json()["agent_disposition"] == "Sold"
    res = acme_api.get(f"/api/v1/cdrs/{leg.id}/recording")
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "no-recording"
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    (settings.recordings_dir / "leg.wav").write_bytes(b"RIFF0000WAVEfmt ")
    Call.update(recording="leg.wav").where(Call.id == leg.id).execute()
    res = acme_api.get(f"/api/v1/cdrs/{leg.id}/recording")
    assert res.status_code == 200 and res.mimetype == "audio/wav" and res.data[:4] == b"RIFF"
    assert acme_api.get(f"/api/v1/cdrs/{acme['theirs'].id}").status_code == 404
    assert acme_api.get(f"/api/v1/cdrs/{acme['theirs'].id}/recording").status_code == 404


def test_api_cdr_summary_matches_the_page(acme, acme_api, admin_api):  # noqa: F811
    body = acme_api.get("/api/v1/reports/cdr-summary?start=2026-11-10&end=2026-11-11").get_json()
    assert body["zone"] == "America/New_York"
    assert body["total"] == {"calls": 4, "answered": 2, "unanswered": 2,
                             "answer_rate_pct": "50.00", "billsec": 90, "cost": "0.0900"}
    assert [d["calls"] for d in body["days"]] == [1, 3]
    assert {(r["day"], r["campaign"], r["calls"]) for r in body["items"]} == {
        ("2026-11-10", "Spring", 1), ("2026-11-11", "Spring", 1), ("2026-11-11", "Autumn", 1),
        ("2026-11-11", "", 1)}
    # the provider's key names the tenant
    assert admin_api.get("/api/v1/reports/cdr-summary").status_code == 400
    body = admin_api.get(f"/api/v1/reports/cdr-summary?tenant_id={acme['tenant'].id}"
                         f"&start=2026-11-10&end=2026-11-11").get_json()
    assert body["total"]["calls"] == 4
    assert admin_api.get(f"/api/v1/cdrs?tenant_id={acme['other'].id}").get_json()["total"] == 1


def test_the_viewers_own_time_zone_wins_over_the_tenants(acme, client):
    User.update(timezone="Europe/Berlin").where(User.id == acme["admin"].id).execute()
    login(client, acme["admin"])
    html = client.get("/cdrs/?start=2026-11-11&end=2026-11-11").get_data(as_text=True)
    assert "Europe/Berlin" in html and "America/New_York" not in html
    assert "2026-11-11 05:59:30" in html  # the New York 23:59:30 call, at 05:59:30 in Berlin
    assert "Europe/Berlin" in client.get("/reports/cdr-summary").get_data(as_text=True)


def test_api_provider_key_reads_any_tenants_cdr_by_id(acme, admin_api):  # noqa: F811
    assert admin_api.get(f"/api/v1/cdrs/{acme['theirs'].id}").get_json()["campaign"] == "Rival"
    assert admin_api.get(f"/api/v1/cdrs/{acme['theirs'].id}?tenant_id={acme['tenant'].id}"
                         ).status_code == 404
    assert admin_api.get("/api/v1/cdrs").status_code == 400  # a list names its tenant


def test_cdr_summary_of_one_campaign_per_day(acme, client, acme_api):
    login(client, acme["admin"])
    spring = acme["spring"].id
    data = client.get(f"/reports/cdr-summary.json?start=2026-11-10&end=2026-11-11"
                      f"&campaign={spring}").get_json()
    assert data["days"] == {"labels": ["2026-11-10", "2026-11-11"], "answered": [1, 0],
                            "unanswered": [0, 1]}
    assert data["campaigns"]["labels"] == ["Spring"]
    html = client.get(f"/reports/cdr-summary?start=2026-11-10&end=2026-11-11&campaign={spring}"
                      ).get_data(as_text=True)
    assert f"cdr-summary.json?start=2026-11-10&amp;end=2026-11-11&amp;campaign={spring}" in html
    assert client.get(f"/reports/cdr-summary?campaign={acme['rival'].id}").status_code == 404
    body = acme_api.get(f"/api/v1/reports/cdr-summary?start=2026-11-10&end=2026-11-11"
                        f"&campaign_id={spring}").get_json()
    assert body["total"]["calls"] == 2
    assert acme_api.get(f"/api/v1/reports/cdr-summary?campaign_id={acme['rival'].id}"
                        ).status_code == 404
