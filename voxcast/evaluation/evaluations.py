"""Scoring an agent's call against a form, for the portal and the API.

One evaluation per call and form: a second scoring of the same call with the same form is a
re-scoring of the first (the portal opens it with its answers; the API answers 409 with its id
and takes a PATCH), so the summary never counts one call twice for a form, while the same call
may be scored with several forms (say compliance and soft skills). A unique index on (form,
call) holds this under concurrent saves too. The call must have an agent: the evaluation is
theirs. The CDR of the agent's own phone (direction "agent", also opened for offers the agent
never took) is not scored: the customer's CDR carries the agent once they answer, the
recording and the disposition, so a conversation has one record to score. Each evaluation stores its answers' points and its totals as computed when saved
(voxcast.evaluation.scoring), so later edits of the form never change it.
"""
from __future__ import annotations

from decimal import Decimal

from peewee import IntegrityError

from models import Call, User, database
from models.entities import Evaluation, EvaluationAnswer, EvaluationForm, QueueCall, utcnow
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.i18n import Msg, N_
from voxcast.reports.period import ReportPeriod

from . import forms, scoring
from .errors import AgentLeg, AlreadyEvaluated, InvalidInput, NotFound, NotScorable

COMMENT_MAX = 4000


def get(tenant_id: int, evaluation_id) -> Evaluation:
    try:
        return get_scoped(Evaluation, tenant_id, evaluation_id)
    except TenantScopeError:
        raise NotFound(Msg(N_("No such evaluation."))) from None


def scorable_call(tenant_id: int, call_id) -> Call:
    try:
        call = get_scoped(Call, tenant_id, call_id)
    except TenantScopeError:
        raise NotFound(Msg(N_("No such call."))) from None
    if call.direction == "agent":
        customer = customer_of(call)
        if customer is not None and customer.agent_id == call.agent_id:
            raise AgentLeg(Msg(N_("This is the record of the agent's phone: evaluate the "
                                  "caller's call record #%(id)s, which holds the "
                                  "conversation."), id=customer.id), customer.id)
        raise AgentLeg(Msg(N_("This is the record of an agent's phone: evaluate the caller's "
                              "call record, which holds the conversation.")), None)
    if call.agent_id is None:
        raise NotScorable(Msg(N_("This call was not taken by an agent: there is nobody to "
                                 "evaluate.")))
    return call


def customer_of(leg: Call) -> Call | None:
    """The caller's CDR of an ACD agent leg (its queue stay's), within the tenant."""
    stay = scoped(QueueCall, leg.tenant_id).where(QueueCall.agent_call == leg.id).first()
    if stay is None or stay.call_id is None:
        return None
    return scoped(Call, leg.tenant_id).where(Call.id == stay.call_id).first()


def existing(tenant_id: int, call_id: int, form_id: int) -> Evaluation | None:
    return scoped(Evaluation, tenant_id).where(Evaluation.call == call_id,
                                               Evaluation.form == form_id).first()


def for_call(tenant_id: int, call_id: int) -> list[Evaluation]:
    return list(scoped(Evaluation, tenant_id).where(Evaluation.call == call_id)
                .order_by(Evaluation.created_at))


def answers_of(evaluation: Evaluation) -> dict[int, EvaluationAnswer]:
    return {a.question_id: a for a in EvaluationAnswer.select().where(
        EvaluationAnswer.evaluation == evaluation.id,
        EvaluationAnswer.tenant == evaluation.tenant_id)}


def has_score(evaluation: Evaluation) -> bool:
    """False when every question was N/A: the evaluation has no score."""
    return Decimal(evaluation.max_points) > 0


def _answers(given) -> dict[int, str]:
    """{question id: value} from a mapping or the API's [{"question_id", "value"}] list."""
    if isinstance(given, dict):
        items = given.items()
    else:
        items = [(a.get("question_id"), a.get("value")) for a in (given or [])
                 if isinstance(a, dict)]
    out: dict[int, str] = {}
    for qid, value in items:
        try:
            out[int(qid)] = "" if value is None else str(value)
        except (TypeError, ValueError):
            raise InvalidInput({"answers": Msg(N_("Answers are given per question id."))}) from None
    return out


def _scored(form: EvaluationForm, given) -> scoring.Scored:
    rules = forms.rules(form)
    if not rules:
        raise NotScorable(Msg(N_("The form has no questions yet.")))
    try:
        return scoring.score(rules, _answers(given))
    except scoring.ScoreError as exc:
        raise InvalidInput({f"q_{qid}": message for qid, message in exc.problems.items()}) from None


def _comment(value) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput({"comment": Msg(N_("At most %(limit)s characters."), limit=COMMENT_MAX)})
    return text


def _write_answers(evaluation: Evaluation, scored: scoring.Scored) -> None:
    EvaluationAnswer.delete().where(EvaluationAnswer.evaluation == evaluation.id).execute()
    EvaluationAnswer.insert_many([
        {"tenant": evaluation.tenant_id, "evaluation": evaluation.id, "question": qid,
         "value": value, "points": points}
        for qid, (value, points) in scored.answers.items()]).execute()


def create(tenant_id: int, call_id, form_id, answers, comment: str = "", *, evaluator=None,
           ip: str = "") -> Evaluation:
    call = scorable_call(tenant_id, call_id)
    form = forms.get_form(tenant_id, form_id)
    if not form.active:
        raise NotScorable(Msg(N_("The form %(name)s is inactive."), name=form.name))
    comment = _comment(comment)
    scored = _scored(form, answers)
    found = existing(tenant_id, call.id, form.id)
    if found is not None:
        raise AlreadyEvaluated(Msg(N_("This call already has an evaluation with this form.")),
                               found.id)
    try:
        with database.atomic():
            row = Evaluation.create(
                tenant=tenant_id, form=form, call=call, agent=call.agent_id,
                evaluator=getattr(evaluator, "id", None), score=scored.percent or 0,
                points=scored.points, max_points=scored.max_points, comment=comment)
            _write_answers(row, scored)
            audit.record("evaluation.create", tenant_id=tenant_id, user=evaluator,
                         object_type="evaluation", object_id=row.id, ip=ip,
                         detail=f"call {call.id}, form {form.name}: {_shown(scored)}")
    except IntegrityError:  # another evaluator saved the same call and form meanwhile
        found = existing(tenant_id, call.id, form.id)
        if found is None:
            raise
        raise AlreadyEvaluated(Msg(N_("This call already has an evaluation with this form.")),
                               found.id) from None
    return row


def rescore(tenant_id: int, evaluation_id, answers=None, comment=None, *, evaluator=None,
            ip: str = "") -> Evaluation:
    """New answers (against the form's questions as they are now) and/or a new comment."""
    row = get(tenant_id, evaluation_id)
    form = forms.get_form(tenant_id, row.form_id)
    changes: dict = {"updated_at": utcnow()}
    if comment is not None:
        changes["comment"] = _comment(comment)
    scored = _scored(form, answers) if answers is not None else None
    if scored is not None:
        changes.update(score=scored.percent or 0, points=scored.points,
                       max_points=scored.max_points, evaluator=getattr(evaluator, "id", None)
                       or row.evaluator_id)
    with database.atomic():
        Evaluation.update(**changes).where(Evaluation.id == row.id).execute()
        if scored is not None:
            _write_answers(row, scored)
        audit.record("evaluation.update", tenant_id=tenant_id, user=evaluator,
                     object_type="evaluation", object_id=row.id, ip=ip,
                     detail=_shown(scored) if scored else "comment")
    return Evaluation.get_by_id(row.id)


def delete(tenant_id: int, evaluation_id, *, actor=None, ip: str = "") -> None:
    row = get(tenant_id, evaluation_id)
    with database.atomic():
        audit.record("evaluation.delete", tenant_id=tenant_id, user=actor,
                     object_type="evaluation", object_id=row.id, ip=ip,
                     detail=f"call {row.call_id}, score {row.score}")
        row.delete_instance(recursive=True)


def _shown(scored: scoring.Scored) -> str:
    return "no score (all N/A)" if scored.percent is None else f"{scored.percent} %"


def query(tenant_id: int | None, *, period: ReportPeriod | None = None, agent_id=None,
          form_id=None, call_id=None):
    """Evaluations newest call first; `period` is over the calls' start (local days)."""
    q = (scoped(Evaluation, tenant_id).select(Evaluation, Call, EvaluationForm, User)
         .join(Call, on=(Evaluation.call == Call.id))
         .switch(Evaluation).join(EvaluationForm)
         .switch(Evaluation).join(User, on=(Evaluation.agent == User.id)))
    if period is not None:
        q = q.where(Call.started_at >= period.since, Call.started_at < period.until)
    if agent_id:
        q = q.where(Evaluation.agent == agent_id)
    if form_id:
        q = q.where(Evaluation.form == form_id)
    if call_id:
        q = q.where(Evaluation.call == call_id)
    return q.order_by(Call.started_at.desc(), Evaluation.id.desc())


def agents(tenant_id: int) -> list[User]:
    """Who may appear in the filters: the tenant's agents (and anyone else evaluated)."""
    evaluated = scoped(Evaluation, tenant_id).select(Evaluation.agent)
    return list(scoped(User, tenant_id).where((User.role == "agent") | User.id.in_(evaluated))
                .order_by(User.username))
