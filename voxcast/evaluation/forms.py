"""Evaluation forms: sections of weighted questions, for the portal's builder and the API.

A form that has been used keeps its past evaluations exact in two ways. Each evaluation stores
its own figures when it is saved (every answer's points, the total, the maximum, the %), so no
later edit recomputes an old score. And a question that has answers is locked: its kind,
scale, weight, N/A option and section cannot change and it cannot be deleted (nor its
section), because the summary's per-section figures and a re-scoring of an old evaluation read
them; its wording may still be corrected, and new questions and sections may be added (old
evaluations simply did not have them). To score differently, duplicate the form and
deactivate the old one: a copy-on-edit the user chooses, visible in the form list, rather than
silent versions behind one name.

Every check runs before anything is written; each change is audited in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from peewee import fn

from models import database
from models.entities import (
    Evaluation, EvaluationAnswer, EvaluationForm, EvaluationQuestion, EvaluationSection, utcnow,
)
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.i18n import Msg, N_

from . import scoring
from .errors import InUse, InvalidInput, Locked, NotFound

NAME_MAX, TEXT_MAX, DESCRIPTION_MAX, TITLE_MAX = 100, 500, 1000, 100
MAX_WEIGHT = Decimal("1000")
MAX_SECTIONS, MAX_QUESTIONS = 50, 200
LOCKED_FIELDS = ("kind", "scale_max", "weight", "allow_na", "section_id")


@dataclass
class Section:
    row: EvaluationSection
    questions: list[EvaluationQuestion]


# -- reading ----------------------------------------------------------------------------------

def list_forms(tenant_id: int, active_only: bool = False) -> list[EvaluationForm]:
    query = scoped(EvaluationForm, tenant_id)
    if active_only:
        query = query.where(EvaluationForm.active == True)  # noqa: E712
    return list(query.order_by(fn.LOWER(EvaluationForm.name), EvaluationForm.id))


def get_form(tenant_id: int, form_id) -> EvaluationForm:
    try:
        return get_scoped(EvaluationForm, tenant_id, form_id)
    except TenantScopeError:
        raise NotFound(Msg(N_("No such evaluation form."))) from None


def _section(form: EvaluationForm, section_id) -> EvaluationSection:
    try:
        row = get_scoped(EvaluationSection, form.tenant_id, section_id)
    except TenantScopeError:
        row = None
    if row is None or row.form_id != form.id:
        raise NotFound(Msg(N_("No such section on this form.")))
    return row


def _question(form: EvaluationForm, question_id) -> EvaluationQuestion:
    try:
        row = get_scoped(EvaluationQuestion, form.tenant_id, question_id)
    except TenantScopeError:
        row = None
    if row is None or row.form_id != form.id:
        raise NotFound(Msg(N_("No such question on this form.")))
    return row


def structure(form: EvaluationForm) -> list[Section]:
    """The form's sections in order, each with its questions in order."""
    sections = list(EvaluationSection.select()
                    .where(EvaluationSection.form == form.id,
                           EvaluationSection.tenant == form.tenant_id)
                    .order_by(EvaluationSection.position, EvaluationSection.id))
    by_section: dict[int, list[EvaluationQuestion]] = {s.id: [] for s in sections}
    for q in (EvaluationQuestion.select()
              .where(EvaluationQuestion.form == form.id,
                     EvaluationQuestion.tenant == form.tenant_id)
              .order_by(EvaluationQuestion.position, EvaluationQuestion.id)):
        by_section.setdefault(q.section_id, []).append(q)
    return [Section(s, by_section[s.id]) for s in sections]


def rule_of(q: EvaluationQuestion) -> scoring.Rule:
    return scoring.Rule(id=q.id, section_id=q.section_id, kind=q.kind,
                        weight=Decimal(q.weight), scale_max=q.scale_max, allow_na=q.allow_na)


def rules(form: EvaluationForm) -> list[scoring.Rule]:
    return [rule_of(q) for s in structure(form) for q in s.questions]


def answered_questions(form: EvaluationForm) -> set[int]:
    """Questions of the form that some evaluation answered: locked."""
    return {a.question_id for a in EvaluationAnswer.select(EvaluationAnswer.question)
            .join(EvaluationQuestion)
            .where(EvaluationQuestion.form == form.id,
                   EvaluationAnswer.tenant == form.tenant_id).distinct()}


def evaluation_counts(tenant_id: int) -> dict[int, int]:
    return {fid: n for fid, n in scoped(Evaluation, tenant_id)
            .select(Evaluation.form, fn.COUNT(Evaluation.id)).group_by(Evaluation.form).tuples()}


def question_counts(tenant_id: int) -> dict[int, int]:
    return {fid: n for fid, n in scoped(EvaluationQuestion, tenant_id)
            .select(EvaluationQuestion.form, fn.COUNT(EvaluationQuestion.id))
            .group_by(EvaluationQuestion.form).tuples()}


# -- checks -----------------------------------------------------------------------------------

def _text(value, field: str, limit: int, errors: dict, required: bool = True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[field] = Msg(N_("Required."))
    elif len(text) > limit:
        errors[field] = Msg(N_("At most %(limit)s characters."), limit=limit)
    return text


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes", "y")
    return bool(value)


def _weight(value, errors: dict, field: str = "weight") -> Decimal | None:
    if isinstance(value, bool):
        value = None
    try:
        weight = Decimal(str(value).strip().replace(",", "."))
        if not weight.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError, AttributeError):
        errors[field] = Msg(N_("Enter a number such as 1 or 2.5."))
        return None
    if weight != weight.quantize(scoring.CENT) or not Decimal("0.01") <= weight <= MAX_WEIGHT:
        errors[field] = Msg(N_("A weight from 0.01 to %(max)s, with at most two decimals."),
                            max=MAX_WEIGHT)
        return None
    return weight.quantize(scoring.CENT)


def _scale(value, errors: dict, field: str = "scale_max") -> int | None:
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = Msg(N_("Enter a whole number."))
        return None
    if not scoring.MIN_SCALE <= number <= scoring.MAX_SCALE:
        errors[field] = Msg(N_("A scale from 1 to %(low)s up to 1 to %(high)s."),
                            low=scoring.MIN_SCALE, high=scoring.MAX_SCALE)
        return None
    return number


def question_values(data: dict, current: EvaluationQuestion | None = None,
                    prefix: str = "") -> tuple[dict, dict]:
    """Checked question fields from `data` (missing ones keep `current`'s): (values, errors)."""
    errors: dict[str, str] = {}
    def has(name):
        return name in data and data[name] is not None
    base = {"text": current.text, "kind": current.kind, "scale_max": current.scale_max,
            "weight": Decimal(current.weight), "allow_na": current.allow_na} if current else {
        "text": "", "kind": "yes_no", "scale_max": 5, "weight": Decimal("1.00"), "allow_na": True}
    values = dict(base)
    if has("text") or current is None:
        values["text"] = _text(data.get("text"), prefix + "text", TEXT_MAX, errors)
    if has("kind"):
        kind = str(data["kind"]).strip()
        if kind not in scoring.KINDS:
            errors[prefix + "kind"] = Msg(N_("Yes/no or a scale."))
        values["kind"] = kind
    if values["kind"] == "scale" and has("scale_max"):
        values["scale_max"] = _scale(data["scale_max"], errors, prefix + "scale_max")
    if has("weight"):
        values["weight"] = _weight(data["weight"], errors, prefix + "weight")
    if "allow_na" in data:
        values["allow_na"] = _bool(data["allow_na"])
    return values, errors


def _check_name(tenant_id: int, name: str, form_id: int | None, errors: dict) -> None:
    if "name" in errors:
        return
    clash = scoped(EvaluationForm, tenant_id).where(fn.LOWER(EvaluationForm.name) == name.lower())
    if form_id is not None:
        clash = clash.where(EvaluationForm.id != form_id)
    if clash.exists():
        errors["name"] = Msg(N_("You already have a form named %(name)s."), name=name)


def _touch(form: EvaluationForm) -> None:
    EvaluationForm.update(updated_at=utcnow()).where(EvaluationForm.id == form.id).execute()


def _audit(action: str, form: EvaluationForm, actor, ip: str, detail: str = "") -> None:
    audit.record(f"evaluation_form.{action}", tenant_id=form.tenant_id, user=actor,
                 object_type="evaluation_form", object_id=form.id,
                 detail=detail or form.name, ip=ip)


def _next_position(model, where) -> int:
    top = model.select(fn.MAX(model.position)).where(where).scalar()
    return 0 if top is None else top + 1


# -- forms ------------------------------------------------------------------------------------

def create_form(tenant_id: int, data: dict, *, actor=None, ip: str = "") -> EvaluationForm:
    """name, description, active and optionally `sections` (the API's nested structure)."""
    errors: dict[str, str] = {}
    name = _text(data.get("name"), "name", NAME_MAX, errors)
    description = _text(data.get("description"), "description", DESCRIPTION_MAX, errors,
                        required=False)
    _check_name(tenant_id, name, None, errors)
    plan = _plan(None, data["sections"], errors) if data.get("sections") is not None else []
    if errors:
        raise InvalidInput(errors)
    with database.atomic():
        form = EvaluationForm.create(tenant=tenant_id, name=name, description=description,
                                     active=_bool(data.get("active", True)),
                                     created_by=getattr(actor, "id", None))
        _apply(form, plan, set())
        _audit("create", form, actor, ip)
    return form


def update_form(tenant_id: int, form_id, data: dict, *, actor=None, ip: str = "") -> EvaluationForm:
    """Any of name, description, active; `sections` replaces the whole structure (entries
    with an `id` keep that section / question, the others are new, missing ones go), under
    the same locks as the builder's single steps."""
    form = get_form(tenant_id, form_id)
    errors: dict[str, str] = {}
    changes = {}
    if "name" in data:
        changes["name"] = _text(data.get("name"), "name", NAME_MAX, errors)
        _check_name(tenant_id, changes["name"], form.id, errors)
    if "description" in data:
        changes["description"] = _text(data.get("description"), "description",
                                       DESCRIPTION_MAX, errors, required=False)
    if "active" in data:
        changes["active"] = _bool(data["active"])
    plan = None
    locked = answered_questions(form)
    if data.get("sections") is not None:
        plan = _plan(form, data["sections"], errors)
        if not errors:
            _check_plan_locks(form, plan, locked)
    if errors:
        raise InvalidInput(errors)
    with database.atomic():
        if changes:
            EvaluationForm.update(**changes, updated_at=utcnow()).where(
                EvaluationForm.id == form.id).execute()
        if plan is not None:
            _apply(form, plan, locked, replace=True)
            _touch(form)
        _audit("update", form, actor, ip, ", ".join(sorted(changes)) +
               (" sections" if plan is not None else ""))
    return EvaluationForm.get_by_id(form.id)


def set_active(tenant_id: int, form_id, active: bool, *, actor=None, ip: str = "") -> EvaluationForm:
    return update_form(tenant_id, form_id, {"active": bool(active)}, actor=actor, ip=ip)


def delete_form(tenant_id: int, form_id, *, actor=None, ip: str = "") -> None:
    form = get_form(tenant_id, form_id)
    if scoped(Evaluation, tenant_id).where(Evaluation.form == form.id).exists():
        raise InUse(Msg(N_("The form has evaluations, which would be deleted with it: "
                           "deactivate it instead.")))
    with database.atomic():
        _audit("delete", form, actor, ip)
        form.delete_instance(recursive=True)


def duplicate(tenant_id: int, form_id, *, actor=None, ip: str = "") -> EvaluationForm:
    """A copy with its sections and questions, active, named "<name> (copy)" (or (copy 2)...):
    how a used form's scoring is changed."""
    form = get_form(tenant_id, form_id)
    base = f"{form.name} (copy"
    taken = {n.lower() for (n,) in scoped(EvaluationForm, tenant_id)
             .select(EvaluationForm.name).tuples()}
    n, name = 1, f"{base})"
    while name.lower() in taken or len(name) > NAME_MAX:
        n += 1
        name = f"{base} {n})"
        if len(name) > NAME_MAX:
            base = f"{form.name[:NAME_MAX - 12]} (copy"
            name = f"{base} {n})"
    with database.atomic():
        copy = EvaluationForm.create(tenant=tenant_id, name=name, description=form.description,
                                     active=True, created_by=getattr(actor, "id", None))
        for section in structure(form):
            new = EvaluationSection.create(tenant=tenant_id, form=copy, title=section.row.title,
                                           position=section.row.position)
            for q in section.questions:
                EvaluationQuestion.create(tenant=tenant_id, form=copy, section=new, text=q.text,
                                          kind=q.kind, scale_max=q.scale_max, weight=q.weight,
                                          allow_na=q.allow_na, position=q.position)
        _audit("duplicate", copy, actor, ip, f"{copy.name} from {form.name} (#{form.id})")
    return copy


# -- sections ---------------------------------------------------------------------------------

def add_section(tenant_id: int, form_id, title, *, actor=None, ip: str = "") -> EvaluationSection:
    form = get_form(tenant_id, form_id)
    errors: dict[str, str] = {}
    title = _text(title, "title", TITLE_MAX, errors)
    if scoped(EvaluationSection, tenant_id).where(EvaluationSection.form == form.id).count() \
            >= MAX_SECTIONS:
        errors[""] = Msg(N_("A form has at most %(n)s sections."), n=MAX_SECTIONS)
    if errors:
        raise InvalidInput(errors)
    with database.atomic():
        row = EvaluationSection.create(
            tenant=tenant_id, form=form, title=title,
            position=_next_position(EvaluationSection, EvaluationSection.form == form.id))
        _touch(form)
        _audit("update", form, actor, ip, f"section added: {title}")
    return row


def rename_section(tenant_id: int, form_id, section_id, title, *, actor=None, ip: str = ""
                   ) -> EvaluationSection:
    form = get_form(tenant_id, form_id)
    row = _section(form, section_id)
    errors: dict[str, str] = {}
    title = _text(title, "title", TITLE_MAX, errors)
    if errors:
        raise InvalidInput(errors)
    with database.atomic():
        EvaluationSection.update(title=title).where(EvaluationSection.id == row.id).execute()
        _touch(form)
        _audit("update", form, actor, ip, f"section renamed: {row.title} -> {title}")
    return EvaluationSection.get_by_id(row.id)


def delete_section(tenant_id: int, form_id, section_id, *, actor=None, ip: str = "") -> None:
    form = get_form(tenant_id, form_id)
    row = _section(form, section_id)
    locked = answered_questions(form)
    ids = {q.id for q in EvaluationQuestion.select(EvaluationQuestion.id)
           .where(EvaluationQuestion.section == row.id)}
    if ids & locked:
        raise Locked(Msg(N_("Questions of this section have been answered in evaluations: "
                            "duplicate the form to change it.")))
    with database.atomic():
        row.delete_instance(recursive=True)
        _renumber(EvaluationSection, EvaluationSection.form == form.id)
        _touch(form)
        _audit("update", form, actor, ip, f"section deleted: {row.title}")


def move_section(tenant_id: int, form_id, section_id, direction: str, *, actor=None,
                 ip: str = "") -> None:
    form = get_form(tenant_id, form_id)
    row = _section(form, section_id)
    with database.atomic():
        _move(EvaluationSection, EvaluationSection.form == form.id, row.id, direction)
        _touch(form)


# -- questions --------------------------------------------------------------------------------

def add_question(tenant_id: int, form_id, section_id, data: dict, *, actor=None,
                 ip: str = "") -> EvaluationQuestion:
    form = get_form(tenant_id, form_id)
    section = _section(form, section_id)
    values, errors = question_values(data)
    if scoped(EvaluationQuestion, tenant_id).where(EvaluationQuestion.form == form.id).count() \
            >= MAX_QUESTIONS:
        errors[""] = Msg(N_("A form has at most %(n)s questions."), n=MAX_QUESTIONS)
    if errors:
        raise InvalidInput(errors)
    with database.atomic():
        row = EvaluationQuestion.create(
            tenant=tenant_id, form=form, section=section, **values,
            position=_next_position(EvaluationQuestion, EvaluationQuestion.section == section.id))
        _touch(form)
        _audit("update", form, actor, ip, f"question added: {values['text'][:200]}")
    return row


def update_question(tenant_id: int, form_id, question_id, data: dict, *, actor=None,
                    ip: str = "") -> EvaluationQuestion:
    """text, kind, scale_max, weight, allow_na and section_id (move to another section of the
    form, at its end). Only the text of an answered question may change."""
    form = get_form(tenant_id, form_id)
    row = _question(form, question_id)
    values, errors = question_values(data, row)
    section_id = row.section_id
    if data.get("section_id") not in (None, ""):
        try:
            section_id = _section(form, data["section_id"]).id
        except NotFound as exc:
            errors["section_id"] = exc.errors[""]
    if errors:
        raise InvalidInput(errors)
    values["section_id"] = section_id
    if row.id in answered_questions(form):
        changed = [f for f in LOCKED_FIELDS if _differs(row, values, f)]
        if changed:
            raise Locked({f: Msg(N_("This question has been answered in evaluations: only its "
                                    "wording may change. Duplicate the form to score "
                                    "differently.")) for f in changed})
    with database.atomic():
        updates = {k: v for k, v in values.items() if k != "section_id"}
        if section_id != row.section_id:
            updates["section"] = section_id
            updates["position"] = _next_position(EvaluationQuestion,
                                                 EvaluationQuestion.section == section_id)
        EvaluationQuestion.update(**updates).where(EvaluationQuestion.id == row.id).execute()
        if section_id != row.section_id:
            _renumber(EvaluationQuestion, EvaluationQuestion.section == row.section_id)
        _touch(form)
        _audit("update", form, actor, ip, f"question changed: {values['text'][:200]}")
    return EvaluationQuestion.get_by_id(row.id)


def delete_question(tenant_id: int, form_id, question_id, *, actor=None, ip: str = "") -> None:
    form = get_form(tenant_id, form_id)
    row = _question(form, question_id)
    if row.id in answered_questions(form):
        raise Locked(Msg(N_("This question has been answered in evaluations, whose answers "
                            "would go with it: duplicate the form to change it.")))
    with database.atomic():
        row.delete_instance()
        _renumber(EvaluationQuestion, EvaluationQuestion.section == row.section_id)
        _touch(form)
        _audit("update", form, actor, ip, f"question deleted: {row.text[:200]}")


def move_question(tenant_id: int, form_id, question_id, direction: str, *, actor=None,
                  ip: str = "") -> None:
    form = get_form(tenant_id, form_id)
    row = _question(form, question_id)
    with database.atomic():
        _move(EvaluationQuestion, EvaluationQuestion.section == row.section_id, row.id, direction)
        _touch(form)


# -- ordering ---------------------------------------------------------------------------------

def _ordered(model, where) -> list[int]:
    return [r.id for r in model.select(model.id).where(where).order_by(model.position, model.id)]


def _renumber(model, where, ids: list[int] | None = None) -> None:
    for position, rid in enumerate(ids if ids is not None else _ordered(model, where)):
        model.update(position=position).where(model.id == rid).execute()


def _move(model, where, row_id: int, direction: str) -> None:
    if direction not in ("up", "down"):
        raise InvalidInput({"direction": Msg(N_("Up or down."))})
    ids = _ordered(model, where)
    i = ids.index(row_id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    _renumber(model, where, ids)


# -- the nested structure (API) ----------------------------------------------------------------

def _differs(row: EvaluationQuestion, values: dict, name: str) -> bool:
    if name == "weight":
        return Decimal(row.weight) != values["weight"]
    if name == "scale_max":
        return row.kind == "scale" and row.scale_max != values["scale_max"]
    return getattr(row, name) != values[name]


def _plan(form: EvaluationForm | None, sections, errors: dict) -> list[dict]:
    """[{"row": section or None, "title", "questions": [{"row": question or None, "values"}]}]
    with every input checked (errors keyed "sections[i].questions[j].field")."""
    if not isinstance(sections, list):
        errors["sections"] = Msg(N_("A list of sections."))
        return []
    if len(sections) > MAX_SECTIONS:
        errors["sections"] = Msg(N_("A form has at most %(n)s sections."), n=MAX_SECTIONS)
        return []
    plan, seen_s, seen_q, count = [], set(), set(), 0
    for i, entry in enumerate(sections):
        at = f"sections[{i}]"
        if not isinstance(entry, dict):
            errors[at] = Msg(N_("A section object."))
            continue
        row = None
        if entry.get("id") is not None:
            if form is None:
                errors[f"{at}.id"] = Msg(N_("A new form has no sections yet."))
            else:
                try:
                    row = _section(form, entry["id"])
                except NotFound as exc:
                    errors[f"{at}.id"] = exc.errors[""]
                if row is not None and row.id in seen_s:
                    errors[f"{at}.id"] = Msg(N_("Listed twice."))
                seen_s.add(getattr(row, "id", None))
        title = _text(entry.get("title"), f"{at}.title", TITLE_MAX, errors)
        questions = []
        for j, qd in enumerate(entry.get("questions") or []):
            qat = f"{at}.questions[{j}]."
            count += 1
            if not isinstance(qd, dict):
                errors[qat[:-1]] = Msg(N_("A question object."))
                continue
            qrow = None
            if qd.get("id") is not None and form is not None:
                try:
                    qrow = _question(form, qd["id"])
                except NotFound as exc:
                    errors[qat + "id"] = exc.errors[""]
                if qrow is not None and qrow.id in seen_q:
                    errors[qat + "id"] = Msg(N_("Listed twice."))
                seen_q.add(getattr(qrow, "id", None))
            elif qd.get("id") is not None:
                errors[qat + "id"] = Msg(N_("A new form has no questions yet."))
            values, qerrors = question_values(qd, qrow, prefix=qat)
            errors.update(qerrors)
            questions.append({"row": qrow, "values": values})
        plan.append({"row": row, "title": title, "questions": questions})
    if count > MAX_QUESTIONS:
        errors["sections"] = Msg(N_("A form has at most %(n)s questions."), n=MAX_QUESTIONS)
    return plan


def _check_plan_locks(form: EvaluationForm, plan: list[dict], locked: set[int]) -> None:
    kept: set[int] = set()
    problems: dict[str, str] = {}
    for i, section in enumerate(plan):
        for j, q in enumerate(section["questions"]):
            row = q["row"]
            if row is None:
                continue
            kept.add(row.id)
            if row.id not in locked:
                continue
            values = dict(q["values"], section_id=getattr(section["row"], "id", None))
            for name in LOCKED_FIELDS:
                if _differs(row, values, name):
                    problems[f"sections[{i}].questions[{j}].{name}"] = Msg(N_(
                        "This question has been answered in evaluations: only its wording "
                        "may change. Duplicate the form to score differently."))
    gone = locked - kept
    if gone:
        problems["sections"] = Msg(N_("Questions that have been answered cannot be removed "
                                      "(ids %(ids)s): duplicate the form to change it."),
                                   ids=", ".join(str(i) for i in sorted(gone)))
    if problems:
        raise Locked(problems)


def _apply(form: EvaluationForm, plan: list[dict], locked: set[int], replace: bool = False) -> None:
    keep_s, keep_q = set(), set()
    for position, section in enumerate(plan):
        row = section["row"]
        if row is None:
            row = EvaluationSection.create(tenant=form.tenant_id, form=form,
                                           title=section["title"], position=position)
        else:
            EvaluationSection.update(title=section["title"], position=position).where(
                EvaluationSection.id == row.id).execute()
        keep_s.add(row.id)
        for qpos, q in enumerate(section["questions"]):
            if q["row"] is None:
                created = EvaluationQuestion.create(tenant=form.tenant_id, form=form,
                                                    section=row.id, position=qpos, **q["values"])
                keep_q.add(created.id)
            else:
                EvaluationQuestion.update(section=row.id, position=qpos, **q["values"]).where(
                    EvaluationQuestion.id == q["row"].id).execute()
                keep_q.add(q["row"].id)
    if replace:
        EvaluationQuestion.delete().where(EvaluationQuestion.form == form.id,
                                          EvaluationQuestion.id.not_in(keep_q or {0})).execute()
        EvaluationSection.delete().where(EvaluationSection.form == form.id,
                                         EvaluationSection.id.not_in(keep_s or {0})).execute()
