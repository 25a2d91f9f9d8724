"""Agent evaluation through the Flask test client: the builder's steps as a browser posts
them, scoring a call (errors kept on the page, one evaluation per call and form), roles (a
user is refused, an agent reads only their own), the summary and its CSV, the CDR list's
"Evaluate" link, and the JSON API (nested forms, locks, 409s, the summary's figures)."""
from __future__ import annotations

import datetime as dt
import re
import wave
from decimal import Decimal

import pytest

from models import Call, Tenant
from models.entities import (Evaluation, EvaluationForm, EvaluationQuestion, EvaluationSection,
                             Queue, QueueCall)
from voxcast.evaluation import forms

from .agents_support import make_agent
from .api_support import Api, tenant_key  # noqa: F401
from .conftest import AuthActions


@pytest.fixture
def master():
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def ann(app, master):
    return make_agent(master, "ann", extension=False)


def login(app, username, password):
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login(username, password).status_code == 302
    return auth


@pytest.fixture
def boss(app, master):
    make_agent(master, "sue", role="supervisor", extension=False)
    return login(app, "sue", "pw-sue")


def a_call(tenant, agent, recording="", when=dt.datetime(2026, 11, 10, 9, 0), channel="c-1"):
    return Call.create(tenant=tenant, number="+12025550123", channel_id=channel,
                       started_at=when, agent=agent, recording=recording, duration=42)


def build_by_posts(auth) -> EvaluationForm:
    r = auth.post("/evaluation/forms", {"name": "Quality", "description": "Every call"})
    assert r.status_code == 302
    form = EvaluationForm.get(EvaluationForm.name == "Quality")
    base = f"/evaluation/forms/{form.id}"
    assert auth.post(f"{base}/sections", {"title": "Opening"}).status_code == 302
    assert auth.post(f"{base}/sections", {"title": "Closing"}).status_code == 302
    opening, closing = (EvaluationSection.get(EvaluationSection.title == t) for t in ("Opening", "Closing"))
    for section, data in ((opening, {"text": "Greeted by name?", "kind": "yes_no", "weight": "2",
                                     "allow_na_field": "1", "allow_na": "1"}),
                          (opening, {"text": "Tone", "kind": "scale", "scale_max": "5",
                                     "weight": "3", "allow_na_field": "1"}),
                          (closing, {"text": "Summarised?", "kind": "yes_no", "weight": "1,5",
                                     "allow_na_field": "1"})):
        r = auth.post(f"{base}/sections/{section.id}/questions", data)
        assert r.status_code == 302, r.get_data(as_text=True)
    return form


def test_a_supervisor_builds_a_form_step_by_step(app, boss):
    form = build_by_posts(boss)
    shape = [(s.row.title, [(q.text, q.kind, q.scale_max if q.kind == "scale" else None,
                             float(q.weight), q.allow_na) for q in s.questions])
             for s in forms.structure(form)]
    assert shape == [("Opening", [("Greeted by name?", "yes_no", None, 2.0, True),
                                  ("Tone", "scale", 5, 3.0, False)]),
                     ("Closing", [("Summarised?", "yes_no", None, 1.5, False)])]
    base = f"/evaluation/forms/{form.id}"
    tone = EvaluationQuestion.get(EvaluationQuestion.text == "Tone")
    closing = EvaluationSection.get(EvaluationSection.title == "Closing")
    # A refused step shows the builder again with the typed value and the reason.
    r = boss.post(f"{base}/questions/{tone.id}", {"text": "Tone", "kind": "scale",
                                                  "scale_max": "12", "weight": "3",
                                                  "allow_na_field": "1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and 'value="12"' in page and "A scale from 1 to 2" in page
    # Move Tone into Closing, then up above Summarised; move Closing above Opening.
    r = boss.post(f"{base}/questions/{tone.id}", {"text": "Tone of voice", "kind": "scale",
                                                  "scale_max": "4", "weight": "3",
                                                  "allow_na_field": "1", "allow_na": "1",
                                                  "section_id": str(closing.id)})
    assert r.status_code == 302
    assert boss.post(f"{base}/questions/{tone.id}/move", {"direction": "up"}).status_code == 302
    assert boss.post(f"{base}/sections/{closing.id}/move", {"direction": "up"}).status_code == 302
    assert [(s.row.title, [q.text for q in s.questions]) for s in forms.structure(form)] == [
        ("Closing", ["Tone of voice", "Summarised?"]), ("Opening", ["Greeted by name?"])]
    page = boss.client.get(base).get_data(as_text=True)
    assert page.index("Tone of voice") < page.index("Summarised?") < page.index("Greeted by name?")
    assert boss.post(f"{base}/questions/{tone.id}/delete").status_code == 302
    assert boss.post(f"{base}/sections/{closing.id}/delete").status_code == 302
    assert [s.row.title for s in forms.structure(form)] == ["Opening"]


def test_scoring_a_call_beside_its_recording(app, boss, master, ann, settings):
    form = build_by_posts(boss)
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(settings.recordings_dir / "call-1.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    call = a_call(master, ann, recording="call-1.wav")
    url = f"/evaluation/calls/{call.id}/score"
    page = boss.client.get(url).get_data(as_text=True)  # the only active form is chosen
    assert f'src="/cdrs/{call.id}/recording"' in page and '<audio id="call-audio"' in page
    qs = {q.text: q for q in EvaluationQuestion.select()}
    g, t, s = (qs[n].id for n in ("Greeted by name?", "Tone", "Summarised?"))
    r = boss.post(url, {"form_id": form.id, f"q_{g}": "yes", f"q_{t}": "na", "comment": "Hi"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Choose one of: 1, 2, 3, 4, 5." in page  # no N/A on Tone
    assert "Answer this question." in page and Evaluation.select().count() == 0
    assert re.search(rf'name="q_{g}" value="yes" required checked', page)  # kept
    r = boss.post(url, {"form_id": form.id, f"q_{g}": "yes", f"q_{t}": "4", f"q_{s}": "no",
                        "comment": "Good start"})
    assert r.status_code == 302
    row = Evaluation.get()
    assert (row.score, row.agent_id, row.comment) == (Decimal("65.38"), ann.id, "Good start")
    # The same call and form again re-scores the same evaluation.
    page = boss.client.get(url).get_data(as_text=True)
    assert "saving re-scores it" in page and re.search(rf'name="q_{t}" value="4" required checked', page)
    boss.post(url, {"form_id": form.id, f"q_{g}": "yes", f"q_{t}": "5", f"q_{s}": "yes"})
    assert Evaluation.select().count() == 1 and Evaluation.get().score == 100
    view = boss.client.get(r.location).get_data(as_text=True)
    assert "100.00 %" in view and f"/evaluation/evaluations/{row.id}/recording" in view
    assert re.findall(r'class="section-score">([^<]+)<', view) == ["100.00 %", "100.00 %"]
    assert boss.client.get(f"/evaluation/evaluations/{row.id}/recording").data[:4] == b"RIFF"
    # Call records link to the scoring page for calls with an agent only.
    nobody = a_call(master, None, channel="c-2")
    cdrs = boss.client.get("/cdrs/").get_data(as_text=True)
    assert f'href="/evaluation/calls/{call.id}/score"' in cdrs
    assert f'href="/evaluation/calls/{nobody.id}/score"' not in cdrs
    assert boss.client.get(f"/evaluation/calls/{nobody.id}/score").status_code == 409
    # The agent's phone leg of a queue call leads to the caller's record.
    leg = a_call(master, ann, channel="c-leg")
    Call.update(direction="agent").where(Call.id == leg.id).execute()
    queue = Queue.create(tenant=master, name="Support")
    QueueCall.create(tenant=master, queue=queue, call=call, caller=call.number, agent=ann,
                     agent_call=leg, outcome="answered")
    r = boss.client.get(f"/evaluation/calls/{leg.id}/score?form={form.id}")
    assert r.status_code == 302 and r.location.endswith(f"/evaluation/calls/{call.id}/score?form={form.id}")


def test_a_used_form_locks_answered_questions_in_the_builder(app, boss, master, ann):
    form = build_by_posts(boss)
    qs = {q.text: q for q in EvaluationQuestion.select()}
    call = a_call(master, ann)
    boss.post(f"/evaluation/calls/{call.id}/score", {
        "form_id": form.id, f"q_{qs['Greeted by name?'].id}": "yes",
        f"q_{qs['Tone'].id}": "3", f"q_{qs['Summarised?'].id}": "yes"})
    base = f"/evaluation/forms/{form.id}"
    page = boss.client.get(base).get_data(as_text=True)
    assert "This form has 1 evaluation." in page and "🔒" in page
    tone = qs["Tone"]
    r = boss.post(f"{base}/questions/{tone.id}", {"text": "Tone", "kind": "scale",
                                                  "scale_max": "5", "weight": "9",
                                                  "allow_na_field": "1"})
    assert r.status_code == 409 and "only its wording may change" in r.get_data(as_text=True)
    assert boss.post(f"{base}/questions/{tone.id}", {"text": "Friendly tone"}).status_code == 302
    assert boss.post(f"{base}/questions/{tone.id}/delete").status_code == 409
    assert boss.post(f"{base}/delete").status_code == 302 and EvaluationForm.select().count() == 1
    r = boss.post(f"{base}/duplicate")
    copy = EvaluationForm.get(EvaluationForm.name == "Quality (copy)")
    assert r.location.endswith(f"/evaluation/forms/{copy.id}")
    boss.post(f"{base}/active", {"active": "0"})
    page = boss.client.get(f"/evaluation/calls/{a_call(master, ann, channel='c-9').id}/score")
    assert "Quality (copy)" in page.get_data(as_text=True)
    assert f'<option value="{form.id}"' not in page.get_data(as_text=True)


def test_summary_page_and_csv_in_the_viewers_zone(app, boss, master, ann):
    Tenant.update(timezone="America/New_York").where(Tenant.id == master.id).execute()
    form = build_by_posts(boss)
    qs = {q.text: q.id for q in EvaluationQuestion.select()}
    # 03:00 UTC on 1 December is still 30 November in New York.
    call = a_call(master, ann, when=dt.datetime(2026, 12, 1, 3, 0))
    boss.post(f"/evaluation/calls/{call.id}/score", {
        "form_id": form.id, f"q_{qs['Greeted by name?']}": "yes", f"q_{qs['Tone']}": "4",
        f"q_{qs['Summarised?']}": "no"})
    november = "start=2026-11-01&end=2026-11-30"
    page = boss.client.get(f"/evaluation/summary?{november}").get_data(as_text=True)
    assert "America/New_York" in page and "65.38 %" in page and "Opening: 85.00 %" in page
    assert re.findall(r'<tr data-question="([^"]+)">.*?class="num average">([^<]+)<', page) == [
        ("Greeted by name?", "100.00 %"), ("Tone", "75.00 %"), ("Summarised?", "0.00 %")]
    december = boss.client.get("/evaluation/summary?start=2026-12-01&end=2026-12-31")
    assert "65.38" not in december.get_data(as_text=True)
    csv = boss.client.get(f"/evaluation/summary.csv?{november}&agent={ann.id}&form={form.id}")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines()[1] == "ann,Quality,,,1,1,65.38,65.38,65.38"
    listing = boss.client.get(f"/evaluation/?{november}").get_data(as_text=True)
    assert "2026-11-30 22:00" in listing and "65.38 %" in listing


def test_roles_an_agent_reads_only_their_own_and_a_user_nothing(app, boss, master, ann):
    form = build_by_posts(boss)
    bob = make_agent(master, "bob", extension=False)
    make_agent(master, "uma", role="user", extension=False)
    qs = [q.id for q in EvaluationQuestion.select().order_by(EvaluationQuestion.id)]
    answers = {f"q_{qs[0]}": "yes", f"q_{qs[1]}": "2", f"q_{qs[2]}": "yes"}
    mine = a_call(master, ann, recording="", channel="c-a")
    theirs = a_call(master, bob, channel="c-b")
    for call in (mine, theirs):
        boss.post(f"/evaluation/calls/{call.id}/score", {"form_id": form.id, **answers})
    own, other = (Evaluation.get(Evaluation.call == c.id) for c in (mine, theirs))
    agent = login(app, "ann", "pw-ann")
    listing = agent.client.get("/evaluation/?start=2026-11-01&end=2026-11-30")
    assert listing.status_code == 200
    body = listing.get_data(as_text=True)
    assert f'data-evaluation="{own.id}"' in body and f'data-evaluation="{other.id}"' not in body
    assert agent.client.get(f"/evaluation/evaluations/{own.id}").status_code == 200
    assert agent.client.get(f"/evaluation/evaluations/{other.id}").status_code == 404
    assert agent.client.get(f"/evaluation/evaluations/{other.id}/recording").status_code == 404
    for url in ("/evaluation/forms", "/evaluation/summary", f"/evaluation/calls/{mine.id}/score"):
        assert agent.client.get(url).status_code == 403
    assert agent.post(f"/evaluation/evaluations/{own.id}/delete").status_code == 403
    user = login(app, "uma", "pw-uma")
    assert user.client.get("/evaluation/").status_code == 403
    assert user.post("/evaluation/forms", {"name": "Mine"}).status_code == 403
    # CSRF: the same post without the token is refused.
    r = boss.client.post("/evaluation/forms", data={"name": "No token"})
    assert r.status_code == 400 and not EvaluationForm.select().where(
        EvaluationForm.name == "No token").exists()


# -- the JSON API -------------------------------------------------------------------------------

NESTED = {"name": "Quality", "sections": [
    {"title": "Opening", "questions": [
        {"text": "Greeted by name?", "kind": "yes_no", "weight": 2},
        {"text": "Tone", "kind": "scale", "scale_max": 5, "weight": 3}]},
    {"title": "Compliance", "questions": [
        {"text": "Disclosure", "weight": 1.5, "allow_na": False}]}]}


def test_api_forms_evaluations_and_summary(client, tenant_key):
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    agent = make_agent(tenant, "acme-ann", extension=False)
    r = api.post("/api/v1/evaluation-forms", json=NESTED)
    assert r.status_code == 201, r.json
    form = r.json
    assert [(s["title"], [(q["text"], q["weight"], q["allow_na"]) for q in s["questions"]])
            for s in form["sections"]] == [
        ("Opening", [("Greeted by name?", "2.00", True), ("Tone", "3.00", True)]),
        ("Compliance", [("Disclosure", "1.50", False)])]
    g, t, d = (q["id"] for s in form["sections"] for q in s["questions"])
    call = a_call(tenant, agent, when=dt.datetime(2026, 11, 5, 12))
    answers = [{"question_id": g, "value": "yes"}, {"question_id": t, "value": "4"},
               {"question_id": d, "value": "no"}]
    r = api.post("/api/v1/evaluations", json={"call_id": call.id, "form_id": form["id"],
                                              "answers": answers, "comment": "ok"})
    assert r.status_code == 201, r.json
    ev = r.json
    assert (ev["score"], ev["points"], ev["max_points"], ev["agent_id"]) == (
        "65.38", "4.25", "6.50", agent.id)
    assert ev["answers"][1] == {"question_id": t, "value": "4", "points": "2.25"}
    r = api.post("/api/v1/evaluations", json={"call_id": call.id, "form_id": form["id"],
                                              "answers": answers})
    assert r.status_code == 409 and f"/evaluations/{ev['id']}" in r.json["error"]["message"]
    r = api.patch(f"/api/v1/evaluations/{ev['id']}", json={"answers": [
        {"question_id": g, "value": "na"}, {"question_id": t, "value": "5"},
        {"question_id": d, "value": "yes"}]})
    assert r.json["score"] == "100.00"
    r = api.patch(f"/api/v1/evaluations/{ev['id']}", json={"answers": [
        {"question_id": g, "value": "na"}, {"question_id": t, "value": "9"}]})
    assert r.status_code == 422 and {f"q_{t}", f"q_{d}"} <= set(r.json["error"]["fields"])
    # Locks: an answered question keeps its weight; a form with evaluations is not deleted.
    locked = api.get(f"/api/v1/evaluation-forms/{form['id']}").json
    assert all(q["locked"] for s in locked["sections"] for q in s["questions"])
    changed = {"sections": [{"id": s["id"], "title": s["title"], "questions": [
        {"id": q["id"], "weight": 9 if q["id"] == g else float(q["weight"])}
        for q in s["questions"]]} for s in locked["sections"]]}
    r = api.patch(f"/api/v1/evaluation-forms/{form['id']}", json=changed)
    assert r.status_code == 409 and r.json["error"]["code"] == "locked"
    assert api.delete(f"/api/v1/evaluation-forms/{form['id']}").status_code == 409
    r = api.post(f"/api/v1/evaluation-forms/{form['id']}/duplicate")
    assert r.status_code == 201 and r.json["name"] == "Quality (copy)"
    assert api.patch(f"/api/v1/evaluation-forms/{r.json['id']}",
                     json={"active": False}).json["active"] is False
    r = api.get(f"/api/v1/evaluations?form_id={form['id']}&agent_id={agent.id}")
    assert r.json["total"] == 1 and r.json["items"][0]["id"] == ev["id"]
    r = api.get("/api/v1/evaluations/summary?start=2026-11-01&end=2026-11-30&timezone=UTC")
    assert r.status_code == 200
    assert r.json["items"] == [{"agent_id": agent.id, "agent": "acme-ann", "form_id": form["id"],
                                "form": "Quality", "count": 1, "scored": 1, "average": "100.00",
                                "minimum": "100.00", "maximum": "100.00", "sections": [
                                    {"section_id": form["sections"][0]["id"], "title": "Opening",
                                     "average": "100.00", "count": 1},
                                    {"section_id": form["sections"][1]["id"],
                                     "title": "Compliance", "average": "100.00", "count": 1}]}]
    assert r.json["questions"] == [{"form_id": form["id"], "items": [
        {"question_id": g, "text": "Greeted by name?", "section": "Opening", "answered": 0,
         "na": 1, "average": None},
        {"question_id": t, "text": "Tone", "section": "Opening", "answered": 1, "na": 0,
         "average": "100.00"},
        {"question_id": d, "text": "Disclosure", "section": "Compliance", "answered": 1, "na": 0,
         "average": "100.00"}]}]
    assert api.get("/api/v1/evaluations/summary?start=2026-11-30&end=2026-11-01").status_code == 400
    assert api.get("/api/v1/evaluations/summary?timezone=Mars/Base").status_code == 400


def test_api_summary_reads_zone_like_every_report(client, tenant_key):
    """`zone` as on the other report endpoints (`timezone`, its first name here, still read):
    a call at 12:00 UTC on 5 November is on the 6th in Kiritimati (UTC+14)."""
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    agent = make_agent(tenant, "acme-ann", extension=False)
    form = api.post("/api/v1/evaluation-forms", json=NESTED).json
    call = a_call(tenant, agent, when=dt.datetime(2026, 11, 5, 12))
    answers = [{"question_id": q["id"], "value": "yes" if q["text"] != "Tone" else "4"}
               for s in form["sections"] for q in s["questions"]]
    assert api.post("/api/v1/evaluations", json={"call_id": call.id, "form_id": form["id"],
                                                 "answers": answers}).status_code == 201
    day = "start=2026-11-05&end=2026-11-05"

    def counted(query: str) -> tuple[int, str]:
        r = api.get(f"/api/v1/evaluations/summary?{day}&{query}")
        assert r.status_code == 200, r.json
        return len(r.json["items"]), r.json["zone"]

    assert counted("zone=UTC") == (1, "UTC")
    assert counted("zone=Pacific/Kiritimati") == (0, "Pacific/Kiritimati")
    assert counted("timezone=Pacific/Kiritimati") == (0, "Pacific/Kiritimati")
    assert counted("zone=UTC&timezone=Pacific/Kiritimati") == (1, "UTC")
    r = api.get(f"/api/v1/evaluations/summary?{day}&zone=Mars/Base")
    assert r.status_code == 400 and set(r.json["error"]["fields"]) == {"zone"}
    r = api.get(f"/api/v1/evaluations/summary?{day}&timezone=Mars/Base")
    assert r.status_code == 400 and set(r.json["error"]["fields"]) == {"timezone"}
    r = api.get("/api/v1/evaluations/summary?start=2026-11-01&end=2026-11-31")
    assert r.status_code == 400 and set(r.json["error"]["fields"]) == {"end"}


def test_api_refuses_other_tenants_and_bad_input(client, tenant_key):
    tenant, secret = tenant_key("acme")
    other, other_secret = tenant_key("rival")
    api, rival = Api(client, secret), Api(client, other_secret)
    form = api.post("/api/v1/evaluation-forms", json=NESTED).json
    agent = make_agent(tenant, "acme-ann", extension=False)
    call = a_call(tenant, agent)
    assert rival.get(f"/api/v1/evaluation-forms/{form['id']}").status_code == 404
    assert rival.post("/api/v1/evaluations", json={"call_id": call.id, "form_id": form["id"],
                                                   "answers": []}).status_code == 404
    rival_form = rival.post("/api/v1/evaluation-forms", json=NESTED).json
    r = api.post("/api/v1/evaluations", json={"call_id": call.id, "form_id": rival_form["id"],
                                              "answers": []})
    assert r.status_code == 404
    r = api.post("/api/v1/evaluation-forms", json={"name": "X", "sections": [
        {"title": "S", "questions": [{"text": "q", "weight": 0.005, "kind": "stars"}]}]})
    assert r.status_code == 422
    r = api.post("/api/v1/evaluation-forms", json={"name": "X", "sections": [
        {"title": "S", "questions": [{"text": "q", "weight": 1.005}]}]})
    assert r.status_code == 422 and "sections[0].questions[0].weight" in r.json["error"]["fields"]
    assert api.post("/api/v1/evaluation-forms", json={"name": "quality"}).status_code == 422
    nobody = a_call(tenant, None, channel="c-x")
    r = api.post("/api/v1/evaluations", json={"call_id": nobody.id, "form_id": form["id"],
                                              "answers": []})
    assert r.status_code == 409 and r.json["error"]["code"] == "not-scorable"
