"""The evaluation summary: per agent and form over a period of local days (the viewer's zone;
the calls' start times decide which day an evaluation belongs to, so "November" means the
calls the agent took in November, whenever they were scored).

Per agent and form: how many evaluations, how many have a score (all N/A has none and stays
out of the figures rather than count as 0 %), the average, lowest and highest score, and per
section the average of that section's % (points / maximum of its answered questions, N/A left
out), over the evaluations where the section had any scored question. Per agent, the same over
all their forms. Per question of each form (all agents in the filter): answered, N/A and the
average share of the weight earned, which shows what a team most often misses. Averages are of evaluations (each counts once, whatever its form's size),
rounded to cents. Computed from the stored answers: evaluations are made by people, a few
thousand a month at most, so no rollup is needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from models import Call, User
from models.entities import (
    Evaluation, EvaluationAnswer, EvaluationForm, EvaluationQuestion, EvaluationSection,
)
from models.tenancy import scoped
from voxcast.reports.period import ReportPeriod

from .scoring import NA, cents


@dataclass
class SectionFigure:
    section_id: int
    title: str
    average: Decimal | None
    count: int


@dataclass
class Row:
    agent_id: int
    agent: str
    form_id: int | None  # None: the agent's line over all forms
    form: str
    count: int = 0
    scored: int = 0
    average: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    sections: list[SectionFigure] = field(default_factory=list)

    def as_dict(self) -> dict:
        def num(v):
            return None if v is None else str(v)
        return {"agent_id": self.agent_id, "agent": self.agent, "form_id": self.form_id,
                "form": self.form, "count": self.count, "scored": self.scored,
                "average": num(self.average), "minimum": num(self.minimum),
                "maximum": num(self.maximum),
                "sections": [{"section_id": s.section_id, "title": s.title,
                              "average": num(s.average), "count": s.count}
                             for s in self.sections]}


@dataclass
class QuestionFigure:
    """A question over the chosen evaluations (every agent in the filter): how often it was
    answered and N/A, and the average share of its weight earned (yes rate for yes/no)."""
    form_id: int
    question_id: int
    text: str
    section: str
    order: tuple = ()
    answered: int = 0
    na: int = 0
    average: Decimal | None = None

    def as_dict(self) -> dict:
        return {"question_id": self.question_id, "text": self.text, "section": self.section,
                "answered": self.answered, "na": self.na,
                "average": None if self.average is None else str(self.average)}


@dataclass
class Summary:
    period: ReportPeriod
    rows: list[Row]    # per agent and form
    agents: list[Row]  # per agent, every form
    questions: dict[int, list[QuestionFigure]] = field(default_factory=dict)  # per form


def _name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


def _mean(values: list[Decimal]) -> Decimal | None:
    return cents(sum(values, Decimal(0)) / len(values)) if values else None


def _figures(row: Row, scores: list[Decimal], count: int) -> Row:
    row.count, row.scored = count, len(scores)
    row.average = _mean(scores)
    row.minimum = min(scores) if scores else None
    row.maximum = max(scores) if scores else None
    return row


def summary(tenant_id: int, period: ReportPeriod, *, agent_id=None, form_id=None) -> Summary:
    chosen = (scoped(Evaluation, tenant_id)
              .join(Call, on=(Evaluation.call == Call.id))
              .where(Call.started_at >= period.since, Call.started_at < period.until,
                     *([Evaluation.agent == agent_id] if agent_id else []),
                     *([Evaluation.form == form_id] if form_id else [])))
    evaluations = list(chosen.select(Evaluation.id, Evaluation.agent, Evaluation.form,
                                     Evaluation.score, Evaluation.max_points))
    form_of = {e.id: e.form_id for e in evaluations}
    # Section % per evaluation and each question's figures, from the stored answer points and
    # the (locked) weights; the evaluations as a subquery, however many there are.
    per_eval_section: dict[tuple[int, int], list[Decimal]] = {}
    titles: dict[int, tuple[int, str]] = {}
    questions: dict[int, QuestionFigure] = {}
    q_points: dict[int, list[Decimal]] = {}
    if evaluations:
        answers = (EvaluationAnswer
                   .select(EvaluationAnswer.evaluation, EvaluationAnswer.value,
                           EvaluationAnswer.points, EvaluationQuestion.id,
                           EvaluationQuestion.text, EvaluationQuestion.weight,
                           EvaluationQuestion.position, EvaluationSection.id,
                           EvaluationSection.title, EvaluationSection.position)
                   .join(EvaluationQuestion).join(EvaluationSection)
                   .where(EvaluationAnswer.tenant == tenant_id,
                          EvaluationAnswer.evaluation.in_(chosen.select(Evaluation.id)))
                   .tuples())
        for (eval_id, value, points, qid, text, weight, qpos, section_id, title,
             position) in answers:
            titles[section_id] = (position, title)
            figure = questions.setdefault(qid, QuestionFigure(
                form_of[eval_id], qid, text, title, (position, section_id, qpos, qid)))
            if value == NA:
                figure.na += 1
                continue
            figure.answered += 1
            q_points.setdefault(qid, []).append(Decimal(points) * 100 / Decimal(weight))
            pts, mx = per_eval_section.setdefault((eval_id, section_id), [Decimal(0), Decimal(0)])
            per_eval_section[(eval_id, section_id)] = [pts + Decimal(points), mx + Decimal(weight)]
    for qid, figure in questions.items():
        figure.average = _mean(q_points.get(qid, []))
    users = {u.id: u for u in scoped(User, tenant_id).where(
        User.id.in_({e.agent_id for e in evaluations} or {0}))}
    form_names = {f.id: f.name for f in scoped(EvaluationForm, tenant_id)}
    groups: dict[tuple[int, int | None], list[Evaluation]] = {}
    for e in evaluations:
        groups.setdefault((e.agent_id, e.form_id), []).append(e)
        groups.setdefault((e.agent_id, None), []).append(e)
    rows, agent_rows = [], []
    for (uid, fid), members in groups.items():
        scores = [cents(Decimal(e.score)) for e in members if Decimal(e.max_points) > 0]
        row = _figures(Row(uid, _name(users[uid]) if uid in users else f"#{uid}", fid,
                           form_names.get(fid, "") if fid else ""), scores, len(members))
        if fid is not None:
            member_ids = {e.id for e in members}
            sections: dict[int, list[Decimal]] = {}
            for (eid, sid), (pts, mx) in per_eval_section.items():
                if eid in member_ids and mx > 0:
                    sections.setdefault(sid, []).append(pts * 100 / mx)
            row.sections = [SectionFigure(sid, titles[sid][1], _mean(values), len(values))
                            for sid, values in sorted(sections.items(),
                                                      key=lambda kv: (titles[kv[0]][0], kv[0]))]
            rows.append(row)
        else:
            agent_rows.append(row)
    rows.sort(key=lambda r: (r.agent.lower(), r.agent_id, r.form.lower(), r.form_id))
    agent_rows.sort(key=lambda r: (r.agent.lower(), r.agent_id))
    by_form: dict[int, list[QuestionFigure]] = {}
    for figure in sorted(questions.values(), key=lambda f: f.order):
        by_form.setdefault(figure.form_id, []).append(figure)
    return Summary(period, rows, agent_rows, by_form)


CSV_HEADER = ["agent", "form", "section", "question", "evaluations", "scored", "average %",
              "min %", "max %"]


def csv_rows(result: Summary):
    """Rows for the CSV export: each agent and form with its sections under it, each agent's
    line over all forms, then each form's questions over all agents (evaluations: answered +
    N/A; scored: answered)."""
    def num(v):
        return "" if v is None else str(v)
    for r in result.rows:
        yield [r.agent, r.form, "", "", r.count, r.scored, num(r.average), num(r.minimum),
               num(r.maximum)]
        for s in r.sections:
            yield [r.agent, r.form, s.title, "", s.count, s.count, num(s.average), "", ""]
    for r in result.agents:
        yield [r.agent, "(all forms)", "", "", r.count, r.scored, num(r.average),
               num(r.minimum), num(r.maximum)]
    names = {r.form_id: r.form for r in result.rows}
    for form_id, figures in result.questions.items():
        for q in figures:
            yield ["(all agents)", names.get(form_id, ""), q.section, q.text, q.answered + q.na,
                   q.answered, num(q.average), "", ""]
