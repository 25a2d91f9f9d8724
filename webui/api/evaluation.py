"""/api/v1/evaluation-forms and /api/v1/evaluations: a tenant's evaluation forms with their
nested sections and questions, the evaluations of its agents' calls, and the summary per
agent, form and period (voxcast.evaluation). A tenant key needs the agents feature; the
provider's key sees every tenant's, or one with tenant_id."""
from __future__ import annotations

from decimal import Decimal

from flask import jsonify, request

from models import Call
from models.entities import Evaluation, EvaluationForm
from models.tenancy import get_scoped, scoped
from voxcast.evaluation import evaluations as evaluation_service
from voxcast.evaluation import forms as form_service
from voxcast.evaluation import summary as summary_service
from voxcast.evaluation.errors import AlreadyEvaluated
from voxcast.evaluation.schemas import (EVALUATION_CREATE, EVALUATION_UPDATE, FORM_CREATE,
                                        FORM_UPDATE)
from voxcast.evaluation.scoring import cents
from voxcast.reports.period import ReportPeriod

from . import (ID, ApiError, body, bp, ip, paginate, own_tenant_only, principal, query_int,
               scope, target_tenant)
from .contact_centre import _tenant_scope, _time, agents_feature
from .periods import api_period


def _num(value) -> str:
    return str(cents(Decimal(value)))


def dump_form(form: EvaluationForm) -> dict:
    locked = form_service.answered_questions(form)
    return {
        "id": form.id, "tenant_id": form.tenant_id, "name": form.name,
        "description": form.description, "active": form.active,
        "evaluations": scoped(Evaluation, form.tenant_id).where(Evaluation.form == form.id).count(),
        "sections": [{
            "id": s.row.id, "title": s.row.title, "position": s.row.position,
            "questions": [{"id": q.id, "text": q.text, "kind": q.kind, "scale_max": q.scale_max,
                           "weight": _num(q.weight), "allow_na": q.allow_na,
                           "position": q.position, "locked": q.id in locked}
                          for q in s.questions]} for s in form_service.structure(form)],
        "created_at": _time(form.created_at), "updated_at": _time(form.updated_at)}


def dump_evaluation(e: Evaluation) -> dict:
    call = scoped(Call, e.tenant_id).where(Call.id == e.call_id).first() if e.call_id else None
    scored = evaluation_service.has_score(e)
    return {
        "id": e.id, "tenant_id": e.tenant_id, "form_id": e.form_id, "call_id": e.call_id,
        "agent_id": e.agent_id, "evaluator_id": e.evaluator_id,
        "score": _num(e.score) if scored else None, "points": _num(e.points),
        "max_points": _num(e.max_points), "comment": e.comment,
        "call_started_at": _time(call.started_at) if call else None,
        "answers": [{"question_id": a.question_id, "value": a.value, "points": _num(a.points)}
                    for a in sorted(evaluation_service.answers_of(e).values(),
                                    key=lambda a: a.question_id)],
        "created_at": _time(e.created_at), "updated_at": _time(e.updated_at)}


def _period(tenant_id: int | None) -> ReportPeriod:
    """`zone` like every report endpoint; `timezone`, its first name here, still read."""
    return api_period(tenant_id, aliases=("timezone",))


# -- forms ------------------------------------------------------------------------------------

@bp.get("/evaluation-forms")
@agents_feature
def evaluation_forms_list():
    return paginate(scoped(EvaluationForm, scope()).order_by(EvaluationForm.id), dump_form)


@bp.post("/evaluation-forms")
@agents_feature
def evaluation_forms_create():
    data = body(FORM_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    fields = {k: v for k, v in data.items() if k != "tenant_id"}
    row = form_service.create_form(tenant.id, fields, actor=principal(), ip=ip())
    return jsonify(dump_form(row)), 201


@bp.get(f"/evaluation-forms/<{ID}:form_id>")
@agents_feature
def evaluation_forms_get(form_id: int):
    return jsonify(dump_form(get_scoped(EvaluationForm, scope(), form_id)))


@bp.patch(f"/evaluation-forms/<{ID}:form_id>")
@agents_feature
def evaluation_forms_update(form_id: int):
    row = get_scoped(EvaluationForm, scope(), form_id)
    data = body(FORM_UPDATE)
    row = form_service.update_form(row.tenant_id, row.id, data, actor=principal(), ip=ip())
    return jsonify(dump_form(row))


@bp.delete(f"/evaluation-forms/<{ID}:form_id>")
@agents_feature
def evaluation_forms_delete(form_id: int):
    row = get_scoped(EvaluationForm, scope(), form_id)
    form_service.delete_form(row.tenant_id, row.id, actor=principal(), ip=ip())
    return "", 204


@bp.post(f"/evaluation-forms/<{ID}:form_id>/duplicate")
@agents_feature
def evaluation_forms_duplicate(form_id: int):
    row = get_scoped(EvaluationForm, scope(), form_id)
    copy = form_service.duplicate(row.tenant_id, row.id, actor=principal(), ip=ip())
    return jsonify(dump_form(copy)), 201


# -- evaluations ------------------------------------------------------------------------------

@bp.get("/evaluations")
@agents_feature
def evaluations_list():
    """Newest call first; start/end (local days of the calls' start) only when given."""
    tid = scope()
    period = _period(tid) if request.args.get("start") or request.args.get("end") else None
    q = evaluation_service.query(tid, period=period, agent_id=query_int("agent_id", None),
                                 form_id=query_int("form_id", None),
                                 call_id=query_int("call_id", None))
    return paginate(q, dump_evaluation)


@bp.post("/evaluations")
@agents_feature
def evaluations_create():
    data = body(EVALUATION_CREATE)
    call = get_scoped(Call, scope(), data["call_id"])
    try:
        row = evaluation_service.create(call.tenant_id, call.id, data["form_id"],
                                        data["answers"], data.get("comment", ""),
                                        evaluator=principal(), ip=ip())
    except AlreadyEvaluated as exc:
        raise ApiError(409, exc.code, f"{exc} Change evaluation {exc.evaluation_id} with PATCH "
                       f"/evaluations/{exc.evaluation_id}.") from None
    return jsonify(dump_evaluation(row)), 201


@bp.get("/evaluations/summary")
@agents_feature
def evaluations_summary():
    tid = _tenant_scope()
    period = _period(tid)
    result = summary_service.summary(tid, period, agent_id=query_int("agent_id", None),
                                     form_id=query_int("form_id", None))
    return jsonify(start=period.start.isoformat(), end=period.end.isoformat(),
                   zone=period.zone_name, timezone=period.zone_name, items=[r.as_dict() for r in result.rows],
                   agents=[r.as_dict() for r in result.agents],
                   questions=[{"form_id": fid, "items": [q.as_dict() for q in figures]}
                              for fid, figures in sorted(result.questions.items())])


@bp.get(f"/evaluations/<{ID}:evaluation_id>")
@agents_feature
def evaluations_get(evaluation_id: int):
    return jsonify(dump_evaluation(get_scoped(Evaluation, scope(), evaluation_id)))


@bp.patch(f"/evaluations/<{ID}:evaluation_id>")
@agents_feature
def evaluations_update(evaluation_id: int):
    row = get_scoped(Evaluation, scope(), evaluation_id)
    data = body(EVALUATION_UPDATE)
    row = evaluation_service.rescore(row.tenant_id, row.id, data.get("answers"),
                                     data.get("comment"), evaluator=principal(), ip=ip())
    return jsonify(dump_evaluation(row))


@bp.delete(f"/evaluations/<{ID}:evaluation_id>")
@agents_feature
def evaluations_delete(evaluation_id: int):
    row = get_scoped(Evaluation, scope(), evaluation_id)
    evaluation_service.delete(row.tenant_id, row.id, actor=principal(), ip=ip())
    return "", 204
