"""Agent evaluation: the pure scoring and the services (forms with their locks, one
evaluation per call and form, the summary per agent / form / local period), exact figures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from models import Call, Tenant, User
from models.entities import (Evaluation, EvaluationAnswer, EvaluationQuestion, Queue, QueueCall,
                             TenantLog)
from voxcast.evaluation import evaluations, forms, scoring, summary
from voxcast.evaluation.errors import (AgentLeg, AlreadyEvaluated, InUse, InvalidInput, Locked, NotFound,
                                       NotScorable)
from voxcast.reports.period import ReportPeriod

YES = scoring.Rule(1, 10, "yes_no", D("2"))
SCALE = scoring.Rule(2, 10, "scale", D("3"), scale_max=5)
STRICT = scoring.Rule(3, 20, "yes_no", D("1.5"), allow_na=False)


# -- scoring ----------------------------------------------------------------------------------

def test_yes_earns_the_weight_no_nothing():
    assert scoring.answer_points(YES, "yes") == D("2.00")
    assert scoring.answer_points(YES, "no") == D("0.00")
    assert scoring.answer_points(YES, "na") is None


def test_scale_runs_from_nothing_at_1_to_the_weight_at_max():
    assert [scoring.answer_points(SCALE, str(v)) for v in range(1, 6)] == [
        D("0.00"), D("0.75"), D("1.50"), D("2.25"), D("3.00")]
    three = scoring.Rule(4, 10, "scale", D("1"), scale_max=3)
    assert scoring.answer_points(three, "2") == D("0.50")
    four = scoring.Rule(5, 10, "scale", D("1"), scale_max=4)
    assert scoring.answer_points(four, "2") == D("0.33")  # 1/3 rounded half up to cents
    assert scoring.answer_points(four, "3") == D("0.67")


def test_score_sums_points_and_max_and_leaves_na_out_of_both():
    result = scoring.score([YES, SCALE, STRICT], {1: "yes", 2: "4", 3: "no"})
    assert (result.points, result.max_points, result.percent) == (D("4.25"), D("6.50"), D("65.38"))
    assert result.sections == {10: (D("4.25"), D("5.00")), 20: (D("0.00"), D("1.50"))}
    with_na = scoring.score([YES, SCALE, STRICT], {1: "na", 2: "4", 3: "yes"})
    assert (with_na.points, with_na.max_points, with_na.percent) == (D("3.75"), D("4.50"), D("83.33"))
    assert with_na.answers[1] == ("na", D("0.00"))


def test_all_na_has_no_score():
    result = scoring.score([YES, SCALE], {1: "na", 2: "NA"})
    assert result.max_points == 0 and result.percent is None


def test_missing_refused_and_unknown_answers_are_named_per_question():
    with pytest.raises(scoring.ScoreError) as err:
        scoring.score([YES, SCALE, STRICT], {1: "maybe", 3: "na", 9: "yes"})
    assert set(err.value.problems) == {"1", "2", "3", "9"}
    assert "yes, no, na" in err.value.problems["1"]
    assert "na" not in err.value.problems["3"].split(": ")[1]  # N/A not offered there
    with pytest.raises(scoring.ScoreError):
        scoring.score([SCALE], {2: "6"})
    with pytest.raises(scoring.ScoreError):
        scoring.score([SCALE], {2: "0"})


# -- services -------------------------------------------------------------------------------

@pytest.fixture
def tenant(db):
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def people(tenant):
    agent = User.create(tenant=tenant, username="ann", role="agent", first_name="Ann",
                        last_name="Agent", password_hash="x")
    other = User.create(tenant=tenant, username="bob", role="agent", first_name="Bob", password_hash="x")
    boss = User.create(tenant=tenant, username="sue", role="supervisor", password_hash="x")
    return agent, other, boss


_calls = iter(range(1, 10_000))


def call_of(tenant, agent, when=dt.datetime(2026, 11, 10, 12, 0)):
    return Call.create(tenant=tenant, number="+12025550123", channel_id=f"c{next(_calls)}",
                       started_at=when, agent=agent, recording="")


def build(tenant, boss):
    form = forms.create_form(tenant.id, {"name": "Quality", "sections": [
        {"title": "Opening", "questions": [
            {"text": "Greeted by name?", "kind": "yes_no", "weight": 2},
            {"text": "Tone", "kind": "scale", "scale_max": 5, "weight": "3"}]},
        {"title": "Compliance", "questions": [
            {"text": "Read the disclosure?", "kind": "yes_no", "weight": 1.5,
             "allow_na": False}]}]}, actor=boss)
    qs = [q for s in forms.structure(form) for q in s.questions]
    return form, qs


def test_a_form_is_built_ordered_and_reordered(tenant, people):
    form, qs = build(tenant, people[2])
    shape = [(s.row.title, [(q.text, q.kind, q.weight) for q in s.questions])
             for s in forms.structure(form)]
    assert shape == [("Opening", [("Greeted by name?", "yes_no", D(2)), ("Tone", "scale", D(3))]),
                     ("Compliance", [("Read the disclosure?", "yes_no", D("1.5"))])]
    forms.move_question(tenant.id, form.id, qs[1].id, "up")
    forms.move_section(tenant.id, form.id, forms.structure(form)[1].row.id, "up")
    assert [(s.row.title, [q.text for q in s.questions]) for s in forms.structure(form)] == [
        ("Compliance", ["Read the disclosure?"]), ("Opening", ["Tone", "Greeted by name?"])]
    extra = forms.add_section(tenant.id, form.id, "Closing")
    q = forms.add_question(tenant.id, form.id, extra.id, {"text": "Summarised?", "weight": "1"})
    assert (q.kind, q.allow_na, q.position) == ("yes_no", True, 0)
    assert TenantLog.select().where(TenantLog.action == "evaluation_form.create").count() == 1


def test_bad_form_input_is_refused_per_field(tenant, people):
    form, qs = build(tenant, people[2])
    with pytest.raises(InvalidInput) as err:
        forms.create_form(tenant.id, {"name": "quality"})
    assert "name" in err.value.errors  # names are unique per tenant, whatever the case
    section = forms.structure(form)[0].row
    with pytest.raises(InvalidInput) as err:
        forms.add_question(tenant.id, form.id, section.id,
                           {"text": "", "kind": "stars", "weight": "0", "scale_max": "11"})
    assert set(err.value.errors) == {"text", "kind", "weight"}
    with pytest.raises(InvalidInput) as err:
        forms.add_question(tenant.id, form.id, section.id,
                           {"text": "x", "kind": "scale", "weight": "1.005", "scale_max": "11"})
    assert set(err.value.errors) == {"weight", "scale_max"}
    with pytest.raises(InvalidInput):
        forms.update_form(tenant.id, form.id, {"sections": [{"title": "", "questions": []}]})


def test_another_forms_section_or_question_is_not_found(tenant, people):
    form, qs = build(tenant, people[2])
    other = forms.create_form(tenant.id, {"name": "Other"})
    with pytest.raises(NotFound):
        forms.update_question(tenant.id, other.id, qs[0].id, {"text": "x"})
    with pytest.raises(NotFound):
        forms.add_question(tenant.id, other.id, forms.structure(form)[0].row.id, {"text": "x"})
    with pytest.raises(NotFound):
        forms.get_form(tenant.id + 1, form.id)


def test_scoring_a_call_stores_exact_figures_once_per_call_and_form(tenant, people):
    agent, _, boss = people
    form, qs = build(tenant, boss)
    call = call_of(tenant, agent)
    row = evaluations.create(tenant.id, call.id, form.id,
                             {qs[0].id: "yes", qs[1].id: "4", qs[2].id: "no"}, "Good opening",
                             evaluator=boss)
    assert (row.points, row.max_points, row.score, row.agent_id) == (
        D("4.25"), D("6.50"), D("65.38"), agent.id)
    stored = {a.question_id: (a.value, a.points) for a in evaluations.answers_of(row).values()}
    assert stored == {qs[0].id: ("yes", D("2.00")), qs[1].id: ("4", D("2.25")),
                      qs[2].id: ("no", D("0.00"))}
    with pytest.raises(AlreadyEvaluated) as err:
        evaluations.create(tenant.id, call.id, form.id, {q.id: "yes" if q.kind == "yes_no"
                                                         else "5" for q in qs})
    assert err.value.evaluation_id == row.id
    again = evaluations.rescore(tenant.id, row.id, {qs[0].id: "na", qs[1].id: "5", qs[2].id: "yes"})
    assert (again.points, again.max_points, again.score) == (D("4.50"), D("4.50"), D("100.00"))
    assert Evaluation.select().count() == 1 and EvaluationAnswer.select().count() == 3


def test_calls_without_an_agent_inactive_or_empty_forms_are_not_scorable(tenant, people):
    agent, _, boss = people
    form, qs = build(tenant, boss)
    nobody = call_of(tenant, None)
    with pytest.raises(NotScorable):
        evaluations.create(tenant.id, nobody.id, form.id, {})
    forms.set_active(tenant.id, form.id, False)
    with pytest.raises(NotScorable):
        evaluations.create(tenant.id, call_of(tenant, agent).id, form.id, {})
    empty = forms.create_form(tenant.id, {"name": "Empty"})
    with pytest.raises(NotScorable):
        evaluations.create(tenant.id, call_of(tenant, agent).id, empty.id, {})
    with pytest.raises(InvalidInput) as err:  # N/A where not allowed, a missing answer
        forms.set_active(tenant.id, form.id, True)
        evaluations.create(tenant.id, call_of(tenant, agent).id, form.id,
                           {qs[0].id: "yes", qs[2].id: "na"})
    assert set(err.value.errors) == {f"q_{qs[1].id}", f"q_{qs[2].id}"}
    assert Evaluation.select().count() == 0


def test_the_agents_phone_leg_is_not_scored_the_callers_record_is(tenant, people):
    agent, _, boss = people
    form, qs = build(tenant, boss)
    customer = call_of(tenant, agent)
    leg = Call.create(tenant=tenant, number="7001", channel_id="leg-1", direction="agent",
                      agent=agent)
    queue = Queue.create(tenant=tenant, name="Sales")
    QueueCall.create(tenant=tenant, queue=queue, call=customer, caller="+12025550123",
                     agent=agent, agent_call=leg, outcome="answered")
    with pytest.raises(AgentLeg) as err:
        evaluations.create(tenant.id, leg.id, form.id, {})
    assert err.value.customer_id == customer.id and f"#{customer.id}" in str(err.value)
    missed = Call.create(tenant=tenant, number="7001", channel_id="leg-2", direction="agent",
                         agent=people[1])  # an offer the other agent did not take
    with pytest.raises(AgentLeg) as err:
        evaluations.create(tenant.id, missed.id, form.id, {})
    assert err.value.customer_id is None and Evaluation.select().count() == 0


def test_an_answered_question_keeps_its_scoring_and_past_scores_stay(tenant, people):
    agent, _, boss = people
    form, qs = build(tenant, boss)
    row = evaluations.create(tenant.id, call_of(tenant, agent).id, form.id,
                             {qs[0].id: "yes", qs[1].id: "4", qs[2].id: "no"})
    for change in ({"weight": "5"}, {"kind": "scale"}, {"allow_na": False},
                   {"section_id": forms.structure(form)[1].row.id}):
        with pytest.raises(Locked):
            forms.update_question(tenant.id, form.id, qs[0].id, change)
    with pytest.raises(Locked):
        forms.delete_question(tenant.id, form.id, qs[0].id)
    with pytest.raises(Locked):
        forms.delete_section(tenant.id, form.id, forms.structure(form)[0].row.id)
    with pytest.raises(Locked):  # the API's whole structure, without the answered question
        forms.update_form(tenant.id, form.id, {"sections": [{"title": "Only", "questions": []}]})
    with pytest.raises(InUse):
        forms.delete_form(tenant.id, form.id)
    # Wording may change; new questions may come; the old evaluation keeps its figures.
    forms.update_question(tenant.id, form.id, qs[0].id, {"text": "Greeted the caller by name?"})
    forms.add_question(tenant.id, form.id, forms.structure(form)[0].row.id,
                       {"text": "New", "weight": "10"})
    same = Evaluation.get_by_id(row.id)
    assert (same.points, same.max_points, same.score) == (D("4.25"), D("6.50"), D("65.38"))
    copy = forms.duplicate(tenant.id, form.id)
    assert copy.name == "Quality (copy)" and copy.active
    assert forms.duplicate(tenant.id, form.id).name == "Quality (copy 2)"
    copied = [q for s in forms.structure(copy) for q in s.questions]
    assert [(q.text, q.weight) for q in copied] == [
        ("Greeted the caller by name?", D(2)), ("Tone", D(3)), ("New", D(10)),
        ("Read the disclosure?", D("1.5"))]
    forms.update_question(tenant.id, copy.id, copied[0].id, {"weight": "5"})  # unused: free


def test_the_api_structure_keeps_ids_and_drops_what_is_missing(tenant, people):
    form, qs = build(tenant, people[2])
    sections = forms.structure(form)
    forms.update_form(tenant.id, form.id, {"sections": [
        {"id": sections[1].row.id, "title": "Compliance!", "questions": [
            {"id": qs[2].id, "text": "Disclosure", "weight": 2}]},
        {"title": "New", "questions": [{"id": qs[0].id}, {"text": "Fresh", "kind": "scale",
                                                           "scale_max": 3}]}]})
    after = forms.structure(form)
    assert [(s.row.title, [(q.id if q.id in (qs[0].id, qs[2].id) else None, q.text,
                            q.weight) for q in s.questions]) for s in after] == [
        ("Compliance!", [(qs[2].id, "Disclosure", D(2))]),
        ("New", [(qs[0].id, "Greeted by name?", D(2)), (None, "Fresh", D(1))])]
    assert EvaluationQuestion.get_or_none(EvaluationQuestion.id == qs[1].id) is None


def test_summary_per_agent_form_and_local_period(tenant, people):
    agent, other, boss = people
    form, qs = build(tenant, boss)
    second = forms.create_form(tenant.id, {"name": "Soft skills", "sections": [
        {"title": "Empathy", "questions": [{"text": "Empathy", "kind": "scale",
                                            "scale_max": 3, "weight": 1}]}]})
    sq = forms.structure(second)[0].questions[0]
    berlin = ZoneInfo("Europe/Berlin")
    answers = {qs[0].id: "yes", qs[1].id: "4", qs[2].id: "no"}             # 65.38 %
    evaluations.create(tenant.id, call_of(tenant, agent, dt.datetime(2026, 11, 1, 0, 30)).id,
                       form.id, answers)  # 01:30 in Berlin on 1 November: inside
    evaluations.create(tenant.id, call_of(tenant, agent, dt.datetime(2026, 11, 15)).id, form.id,
                       {qs[0].id: "na", qs[1].id: "5", qs[2].id: "yes"})      # 100 %
    evaluations.create(tenant.id, call_of(tenant, agent, dt.datetime(2026, 11, 16)).id,
                       second.id, {sq.id: "2"})                                # 50 %
    evaluations.create(tenant.id, call_of(tenant, other, dt.datetime(2026, 11, 16)).id,
                       second.id, {sq.id: "na"})                               # no score
    evaluations.create(tenant.id, call_of(tenant, agent, dt.datetime(2026, 10, 31, 22, 30)).id,
                       form.id, {qs[0].id: "no", qs[1].id: "1", qs[2].id: "no"})  # 31 Oct local
    period = ReportPeriod(dt.date(2026, 11, 1), dt.date(2026, 11, 30), berlin)
    result = summary.summary(tenant.id, period)
    lines = [(r.agent, r.form, r.count, r.scored, r.average, r.minimum, r.maximum)
             for r in result.rows]
    assert lines == [("Ann Agent", "Quality", 2, 2, D("82.69"), D("65.38"), D("100.00")),
                     ("Ann Agent", "Soft skills", 1, 1, D("50.00"), D("50.00"), D("50.00")),
                     ("Bob", "Soft skills", 1, 0, None, None, None)]
    quality = result.rows[0]
    # Opening: 4.25/5 = 85 % and 3/3 (the N/A left out) = 100 %; Compliance 0 % and 100 %.
    assert [(s.title, s.average, s.count) for s in quality.sections] == [
        ("Opening", D("92.50"), 2), ("Compliance", D("50.00"), 2)]
    assert [(r.agent, r.count, r.scored, r.average) for r in result.agents] == [
        ("Ann Agent", 3, 3, D("71.79")), ("Bob", 1, 0, None)]
    assert [(q.text, q.section, q.answered, q.na, q.average)
            for q in result.questions[form.id]] == [
        ("Greeted by name?", "Opening", 1, 1, D("100.00")), ("Tone", "Opening", 2, 0, D("87.50")),
        ("Read the disclosure?", "Compliance", 2, 0, D("50.00"))]
    assert [(q.answered, q.na, q.average) for q in result.questions[second.id]] == [
        (1, 1, D("50.00"))]
    only = summary.summary(tenant.id, period, agent_id=agent.id, form_id=second.id)
    assert [(r.form, r.count) for r in only.rows] == [("Soft skills", 1)]
    october = summary.summary(tenant.id, ReportPeriod(dt.date(2026, 10, 1),
                                                      dt.date(2026, 10, 31), berlin))
    assert [(r.form, r.average) for r in october.rows] == [("Quality", D("0.00"))]
    csv = list(summary.csv_rows(result))
    assert csv[0] == ["Ann Agent", "Quality", "", "", 2, 2, "82.69", "65.38", "100.00"]
    assert ["Ann Agent", "Quality", "Opening", "", 2, 2, "92.50", "", ""] in csv
    assert ["(all agents)", "Quality", "Opening", "Tone", 2, 2, "87.50", "", ""] in csv
