"""Agent evaluation in the portal: the forms builder (sections and questions as plain HTML
forms, one small form per step), scoring a call beside its recording, the evaluations list,
one evaluation's page, and the summary per agent, form and period with its CSV.

Tenants and supervisors build and score; an agent reads their own evaluations (and hears
those calls) and nothing else. The rules are voxcast.evaluation's; these views map its typed
errors onto the page. CSRF is checked on every POST by the app's CSRFProtect."""
from __future__ import annotations

from decimal import Decimal

from flask import (Blueprint, abort, current_app, flash, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from peewee import fn

from models import Call, Campaign, User
from models.entities import Evaluation, EvaluationForm, EvaluationQuestion, EvaluationSection
from models.tenancy import get_scoped, scoped
from voxcast.evaluation import evaluations as evaluation_service
from voxcast.evaluation import forms as form_service
from voxcast.evaluation import scoring
from voxcast.evaluation import summary as summary_service
from voxcast.evaluation.errors import AgentLeg, AlreadyEvaluated, EvaluationError, NotFound

from .agent_setup import tr
from .auth import current_tenant_id, tenant_required
from .downloads import csv_response, report_filename
from .paging import Page, matching, search_arg
from .params import arg_id, parse_id
from .permissions import feature_required
from .viewer import request_period, viewer_zone

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")

MANAGERS = ("tenant", "supervisor")
READERS = MANAGERS + ("agent",)
PER_PAGE = 50
KIND_LABELS = {"yes_no": _l("Yes / no"), "scale": _l("Scale")}


def weight_text(value) -> str:
    """2.00 -> "2", 1.50 -> "1.5": how a person types a weight."""
    text = format(Decimal(value).quantize(scoring.CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def value_label(value: str) -> str:
    return {"yes": _("Yes"), "no": _("No"), "na": _("N/A")}.get(value, value)


@bp.app_template_global()
def evaluation_weight(value) -> str:
    return weight_text(value)


@bp.app_template_global()
def evaluation_pct(value) -> str:
    """A stored score as "65.38 %" (SQLite hands decimals back without their trailing zeros)."""
    return f"{scoring.cents(Decimal(value))} %"


def _errors(exc: EvaluationError) -> dict[str, str]:
    return {name: tr(message) for name, message in exc.errors.items()}


def _flash_error(exc: EvaluationError) -> None:
    flash("; ".join(_errors(exc).values()), "error")


def _ip() -> str:
    return request.remote_addr or ""


def _is_manager() -> bool:
    return current_user.role in MANAGERS


# -- forms ------------------------------------------------------------------------------------

@bp.route("/forms", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def forms():
    tid = current_tenant_id()
    errors, status = {}, 200
    if request.method == "POST":
        try:
            row = form_service.create_form(tid, {"name": request.form.get("name"),
                                                 "description": request.form.get("description")},
                                           actor=current_user, ip=_ip())
        except EvaluationError as exc:
            errors, status = _errors(exc), 400
        else:
            flash(_("Form '%(name)s' created: add its sections and questions.", name=row.name),
                  "success")
            return redirect(url_for("evaluation.form", form_id=row.id))
    q = search_arg()
    page = Page.from_request(
        matching(scoped(EvaluationForm, tid), q, EvaluationForm.name, EvaluationForm.description)
        .order_by(fn.LOWER(EvaluationForm.name), EvaluationForm.id), 50)
    return render_template("evaluation/forms.html", forms=page.items, page=page, q=q,
                           used=form_service.evaluation_counts(tid),
                           questions=form_service.question_counts(tid), errors=errors,
                           posted=request.form), status


def _builder(form_row, status: int = 200, errors: dict | None = None, target: str = ""):
    """The builder page; after a refused step, `target` names the small form whose typed
    values and errors are shown again."""
    return render_template(
        "evaluation/form.html", form=form_row, sections=form_service.structure(form_row),
        locked=form_service.answered_questions(form_row),
        used=form_service.evaluation_counts(form_row.tenant_id).get(form_row.id, 0),
        kinds=KIND_LABELS, errors=errors or {}, target=target,
        posted=request.form if target else {}), status


@bp.route("/forms/<int:form_id>", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def form(form_id: int):
    row = get_scoped(EvaluationForm, current_tenant_id(), form_id)
    if request.method == "POST":
        try:
            form_service.update_form(row.tenant_id, row.id,
                                     {"name": request.form.get("name"),
                                      "description": request.form.get("description")},
                                     actor=current_user, ip=_ip())
        except EvaluationError as exc:
            return _builder(row, 400, _errors(exc), "form")
        flash(_("Form saved."), "success")
        return redirect(url_for("evaluation.form", form_id=row.id))
    return _builder(row)


def _step(form_id: int, action, target: str, done: str | None = None, anchor: str = ""):
    """Run one builder step; on a refusal show the builder again with the error at `target`."""
    row = get_scoped(EvaluationForm, current_tenant_id(), form_id)
    try:
        action(row)
    except NotFound:
        abort(404)
    except EvaluationError as exc:
        return _builder(row, 400 if exc.status == 422 else 409, _errors(exc), target)
    if done:
        flash(done, "success")
    return redirect(url_for("evaluation.form", form_id=row.id) + anchor)


def _scoped_child(model, form_row, child_id):
    """A section / question of this form; another tenant's or form's id is 404."""
    child = get_scoped(model, form_row.tenant_id, child_id)
    if child.form_id != form_row.id:
        abort(404)
    return child


@bp.route("/forms/<int:form_id>/duplicate", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def duplicate(form_id: int):
    row = get_scoped(EvaluationForm, current_tenant_id(), form_id)
    copy = form_service.duplicate(row.tenant_id, row.id, actor=current_user, ip=_ip())
    flash(_("Copied to '%(name)s'.", name=copy.name), "success")
    return redirect(url_for("evaluation.form", form_id=copy.id))


@bp.route("/forms/<int:form_id>/active", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def set_active(form_id: int):
    active = request.form.get("active") == "1"
    return _step(form_id, lambda f: form_service.set_active(
        f.tenant_id, f.id, active, actor=current_user, ip=_ip()), "form",
        _("Form activated.") if active else _("Form deactivated: it is no longer offered for "
                                               "scoring; its evaluations stay."))


@bp.route("/forms/<int:form_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def delete_form(form_id: int):
    row = get_scoped(EvaluationForm, current_tenant_id(), form_id)
    try:
        form_service.delete_form(row.tenant_id, row.id, actor=current_user, ip=_ip())
    except EvaluationError as exc:
        _flash_error(exc)
        return redirect(url_for("evaluation.form", form_id=row.id))
    flash(_("Form '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("evaluation.forms"))


@bp.route("/forms/<int:form_id>/sections", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def add_section(form_id: int):
    return _step(form_id, lambda f: form_service.add_section(
        f.tenant_id, f.id, request.form.get("title"), actor=current_user, ip=_ip()),
        "new-section")


@bp.route("/forms/<int:form_id>/sections/<int:section_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def rename_section(form_id: int, section_id: int):
    def act(f):
        s = _scoped_child(EvaluationSection, f, section_id)
        form_service.rename_section(f.tenant_id, f.id, s.id, request.form.get("title"),
                                    actor=current_user, ip=_ip())
    return _step(form_id, act, f"section-{section_id}", anchor=f"#section-{section_id}")


@bp.route("/forms/<int:form_id>/sections/<int:section_id>/move", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def move_section(form_id: int, section_id: int):
    def act(f):
        s = _scoped_child(EvaluationSection, f, section_id)
        form_service.move_section(f.tenant_id, f.id, s.id, request.form.get("direction", ""))
    return _step(form_id, act, f"section-{section_id}", anchor=f"#section-{section_id}")


@bp.route("/forms/<int:form_id>/sections/<int:section_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def delete_section(form_id: int, section_id: int):
    def act(f):
        s = _scoped_child(EvaluationSection, f, section_id)
        form_service.delete_section(f.tenant_id, f.id, s.id, actor=current_user, ip=_ip())
    return _step(form_id, act, f"section-{section_id}", _("Section deleted."))


def _question_data() -> dict:
    """The builder's question fields; a locked question's form sends only its text, and the
    N/A box counts only where it was shown (an unticked box sends nothing)."""
    data = {name: request.form.get(name) for name in ("text", "kind", "scale_max", "weight")}
    if "allow_na_field" in request.form:
        data["allow_na"] = bool(request.form.get("allow_na"))
    if request.form.get("section_id"):
        data["section_id"] = request.form.get("section_id")
    return data


@bp.route("/forms/<int:form_id>/sections/<int:section_id>/questions", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def add_question(form_id: int, section_id: int):
    def act(f):
        s = _scoped_child(EvaluationSection, f, section_id)
        data = _question_data()
        data.pop("section_id", None)
        form_service.add_question(f.tenant_id, f.id, s.id, data, actor=current_user, ip=_ip())
    return _step(form_id, act, f"new-question-{section_id}", anchor=f"#section-{section_id}")


@bp.route("/forms/<int:form_id>/questions/<int:question_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def edit_question(form_id: int, question_id: int):
    def act(f):
        q = _scoped_child(EvaluationQuestion, f, question_id)
        form_service.update_question(f.tenant_id, f.id, q.id, _question_data(),
                                     actor=current_user, ip=_ip())
    return _step(form_id, act, f"question-{question_id}", _("Question saved."),
                 anchor=f"#question-{question_id}")


@bp.route("/forms/<int:form_id>/questions/<int:question_id>/move", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def move_question(form_id: int, question_id: int):
    def act(f):
        q = _scoped_child(EvaluationQuestion, f, question_id)
        form_service.move_question(f.tenant_id, f.id, q.id, request.form.get("direction", ""))
    return _step(form_id, act, f"question-{question_id}", anchor=f"#question-{question_id}")


@bp.route("/forms/<int:form_id>/questions/<int:question_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def delete_question(form_id: int, question_id: int):
    def act(f):
        q = _scoped_child(EvaluationQuestion, f, question_id)
        form_service.delete_question(f.tenant_id, f.id, q.id, actor=current_user, ip=_ip())
    return _step(form_id, act, f"question-{question_id}", _("Question deleted."))


# -- scoring a call -----------------------------------------------------------------------------

def _call_facts(call: Call) -> dict:
    tid = call.tenant_id
    agent = scoped(User, tid).where(User.id == call.agent_id).first() if call.agent_id else None
    campaign = scoped(Campaign, tid).where(Campaign.id == call.campaign_id).first() \
        if call.campaign_id else None
    return {"agent": agent, "campaign": campaign}


def _recording_ok(call: Call) -> bool:
    if not call.recording:
        return False
    return (current_app.config["VOXCAST_SETTINGS"].recordings_dir / call.recording).is_file()


@bp.route("/calls/<int:call_id>/score", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def score(call_id: int):
    """The call's recording beside a form to score it with; a call already scored with the
    chosen form opens that evaluation, and saving re-scores it (one per call and form)."""
    tid = current_tenant_id()
    call = get_scoped(Call, tid, call_id)
    try:
        evaluation_service.scorable_call(tid, call.id)
    except AgentLeg as exc:
        if exc.customer_id is not None:  # the agent's phone: score the caller's CDR instead
            keep = {"form": request.args["form"]} if request.args.get("form") else {}
            return redirect(url_for("evaluation.score", call_id=exc.customer_id, **keep))
        return render_template("error.html", code=409, message=tr(exc.errors[""])), 409
    except EvaluationError as exc:
        return render_template("error.html", code=409, message=tr(exc.errors[""])), 409
    active = form_service.list_forms(tid, active_only=True)
    chosen_id = parse_id(request.form.get("form_id")) if request.method == "POST" \
        else arg_id("form")
    chosen = None
    if chosen_id:
        try:
            chosen = form_service.get_form(tid, chosen_id)
        except NotFound:
            abort(404)
    elif len(active) == 1:
        chosen = active[0]
    found = evaluation_service.existing(tid, call.id, chosen.id) if chosen else None
    errors, status = {}, 200
    if request.method == "POST" and chosen is not None:
        answers = {qid: v for k, v in request.form.items()
                   if k.startswith("q_") and (qid := parse_id(k[2:])) is not None}
        comment = request.form.get("comment", "")
        try:
            if found is None:
                row = evaluation_service.create(tid, call.id, chosen.id, answers, comment,
                                                evaluator=current_user, ip=_ip())
            else:
                row = evaluation_service.rescore(tid, found.id, answers, comment,
                                                 evaluator=current_user, ip=_ip())
        except AlreadyEvaluated as exc:  # saved by someone else meanwhile: show theirs
            flash(_("Another evaluator saved this call with this form a moment ago; here it "
                    "is."), "error")
            return redirect(url_for("evaluation.view", evaluation_id=exc.evaluation_id))
        except EvaluationError as exc:
            errors, status = _errors(exc), 400
        else:
            flash(_("Evaluation saved: %(score)s.", score=(evaluation_pct(row.score)
                    if evaluation_service.has_score(row) else _("no score (all N/A)"))),
                  "success")
            return redirect(url_for("evaluation.view", evaluation_id=row.id))
    elif request.method == "POST":
        errors, status = {"form_id": _("Choose a form.")}, 400
    given = {}
    if request.method == "POST":
        given = {k[2:]: v for k, v in request.form.items() if k.startswith("q_")}
    elif found is not None:
        given = {str(qid): a.value for qid, a in evaluation_service.answers_of(found).items()}
    sections = form_service.structure(chosen) if chosen else []
    choices = {q.id: scoring.choices(form_service.rule_of(q))
               for s in sections for q in s.questions}
    return render_template(
        "evaluation/score.html", call=call, facts=_call_facts(call), forms=active,
        chosen=chosen, sections=sections, choices=choices, given=given, found=found,
        comment=request.form.get("comment", found.comment if found else ""),
        others=evaluation_service.for_call(tid, call.id), errors=errors,
        recording=_recording_ok(call), value_label=value_label,
        zone=viewer_zone().key), status


# -- evaluations --------------------------------------------------------------------------------

def _readable(evaluation_id: int):
    """An evaluation the viewer may read: any of the tenant's for a manager, an agent's own."""
    row = get_scoped(Evaluation, current_tenant_id(), evaluation_id)
    if not _is_manager() and row.agent_id != current_user.id:
        abort(404)
    return row


@bp.route("/")
@tenant_required(roles=READERS)
@feature_required("agents")
def index():
    """The evaluations (newest call first) over the period; an agent sees only their own."""
    tid = current_tenant_id()
    period = request_period()
    agent_id = arg_id("agent") if _is_manager() else current_user.id
    form_id = arg_id("form")
    if agent_id and _is_manager():
        get_scoped(User, tid, agent_id)
    if form_id:
        get_scoped(EvaluationForm, tid, form_id)
    query = evaluation_service.query(tid, period=period, agent_id=agent_id, form_id=form_id)
    page = Page.from_request(query, PER_PAGE)
    return render_template("evaluation/list.html", page=page, period=period,
                           agents=evaluation_service.agents(tid) if _is_manager() else [],
                           forms=form_service.list_forms(tid), agent_id=agent_id,
                           form_id=form_id, manager=_is_manager(),
                           has_score=evaluation_service.has_score)


@bp.route("/evaluations/<int:evaluation_id>")
@tenant_required(roles=READERS)
@feature_required("agents")
def view(evaluation_id: int):
    row = _readable(evaluation_id)
    tid = row.tenant_id
    form_row = form_service.get_form(tid, row.form_id)
    call = scoped(Call, tid).where(Call.id == row.call_id).first() if row.call_id else None
    answers = evaluation_service.answers_of(row)
    evaluator = scoped(User, tid).where(User.id == row.evaluator_id).first() \
        if row.evaluator_id else None
    agent = scoped(User, tid).where(User.id == row.agent_id).first()
    sections = form_service.structure(form_row)
    section_pct = {}
    for s in sections:  # from the stored points and the (locked) weights of what was answered
        given = [(a, q) for q in s.questions if (a := answers.get(q.id)) and a.value != scoring.NA]
        section_pct[s.row.id] = scoring.percent(sum((Decimal(a.points) for a, _q in given), Decimal(0)),
                                                sum((Decimal(q.weight) for _a, q in given), Decimal(0)))
    return render_template("evaluation/view.html", evaluation=row, form=form_row, call=call,
                           sections=sections, answers=answers, section_pct=section_pct,
                           agent=agent, evaluator=evaluator, manager=_is_manager(),
                           recording=call is not None and _recording_ok(call),
                           has_score=evaluation_service.has_score(row),
                           value_label=value_label, zone=viewer_zone().key)


@bp.route("/evaluations/<int:evaluation_id>/recording")
@tenant_required(roles=READERS)
@feature_required("agents")
def recording(evaluation_id: int):
    """The evaluated call's recording, for whoever may read the evaluation (so an agent
    hears the call they were scored on, and no other)."""
    row = _readable(evaluation_id)
    call = scoped(Call, row.tenant_id).where(Call.id == row.call_id).first() if row.call_id else None
    if call is None or not _recording_ok(call):
        abort(404)
    path = current_app.config["VOXCAST_SETTINGS"].recordings_dir / call.recording
    return send_file(path, mimetype="audio/wav", download_name=f"call-{call.id}.wav")


@bp.route("/evaluations/<int:evaluation_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def delete(evaluation_id: int):
    row = _readable(evaluation_id)
    evaluation_service.delete(row.tenant_id, row.id, actor=current_user, ip=_ip())
    flash(_("Evaluation deleted."), "success")
    return redirect(url_for("evaluation.index"))


# -- summary ------------------------------------------------------------------------------------

def _summary():
    tid = current_tenant_id()
    period = request_period()
    agent_id, form_id = arg_id("agent"), arg_id("form")
    if agent_id:
        get_scoped(User, tid, agent_id)
    if form_id:
        get_scoped(EvaluationForm, tid, form_id)
    return summary_service.summary(tid, period, agent_id=agent_id, form_id=form_id), \
        agent_id, form_id


@bp.route("/summary")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def summary():
    result, agent_id, form_id = _summary()
    tid = current_tenant_id()
    return render_template("evaluation/summary.html", result=result, period=result.period,
                           agents=evaluation_service.agents(tid),
                           forms=form_service.list_forms(tid), agent_id=agent_id,
                           form_id=form_id)


@bp.route("/summary.csv")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def summary_csv():
    result, _agent, _form = _summary()
    p = result.period
    return csv_response([summary_service.CSV_HEADER, *summary_service.csv_rows(result)],
                        report_filename("evaluations", p, p.zone_name))
