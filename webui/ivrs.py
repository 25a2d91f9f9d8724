"""The tenant's IVRs, used by IVR campaigns and by DIDs. The page is a structured builder
(static/ivr_builder.js): a card per node with its settings in form fields, pickers for the
tenant's prompts, extensions, queues and contact fields, and its exits as selects naming other
nodes. The builder reads and writes the tree's JSON in the form's "tree" field, which stays on
the page as the advanced view (and is the whole editor without JavaScript), so both always
round-trip; what is posted is checked on the server before anything is saved
(voxcast.ivr.tree, voxcast.ivr.services). While editing, the builder posts the draft to
/ivrs/check, which runs the same checks and answers each error on the node it concerns. An IVR
in use (by a DID or a campaign) opens read-only, with Duplicate and an explicit Edit."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from models.entities import Ivr, Queue
from models.tenancy import get_scoped, scoped
from voxcast.ivr import services as flow_service
from voxcast.ivr import tree as ivr

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .permissions import feature_required

bp = Blueprint("ivrs", __name__, url_prefix="/ivrs")

def _starter() -> dict:
    """A new IVR starts with one node the tenant changes (a greeting in its language)."""
    return {"start": "welcome", "nodes": {"welcome": {"type": "say", "text": _("Welcome.")}}}


def _builder_texts() -> dict:
    """The builder's words (static/ivr_builder.js has none of its own), in the user's language."""
    return {
        "types": {"say": _("Say a text"), "play": _("Play a prompt"), "menu": _("Menu"),
                  "get_digits": _("Get digits"), "branch": _("Branch on a value"),
                  "transfer": _("Transfer"), "record": _("Record a message"),
                  "set_field": _("Set a contact field"), "set_result": _("Set the result"),
                  "opt_out": _("Opt out (do not call)"), "hangup": _("Hang up")},
        "builder": _("IVR builder"),
        "start": _("The call starts at"),
        "node": _("Node"),
        "id": _("Node name"),
        "id_hint": _("Letters, digits, _ or -; other nodes name it in their exits."),
        "id_taken": _("Another node already has this name."),
        "id_empty": _("A node needs a name."),
        "type": _("Type"),
        "is_start": _("start"),
        "delete": _("Delete node %(id)s"),
        "delete_last": _("An IVR needs at least one node."),
        "deleted": _("Node %(id)s deleted; exits that led to it now hang up."),
        "add": _("Add node"),
        "add_type": _("Type of the new node"),
        "added": _("Node %(id)s added at the end of the list."),
        "exits": _("Exits"),
        "settings": _("Settings"),
        "next": _("Then"), "no_input": _("When nothing is pressed"),
        "invalid": _("When another key is pressed"), "failed": _("When nobody answers"),
        "default": _("When no case matches"),
        "hang_up": _("End the call here"), "choose": _("Choose a node"),
        "missing": _("%(id)s (no such node)"),
        "prompt": _("Prompt"), "prompt_text": _("A text spoken by the voice"),
        "prompt_sound": _("A prompt of your audio library"), "prompt_none": _("No prompt"),
        "text": _("Text to speak"), "goodbye": _("Goodbye text (optional)"),
        "sound": _("Audio prompt"), "listen": _("Listen to %(name)s"),
        "no_prompts": _("Your audio library has no prompts yet."),
        "library": _("Open the audio library"),
        "insert": _("Insert a field"), "insert_button": _("Insert"),
        "keys": _("Keys"), "key": _("Key"), "goes_to": _("goes to"),
        "add_key": _("Add a key"), "remove_key": _("Remove key %(key)s"),
        "no_keys_left": _("Every key is used."),
        "timeout": _("Seconds to wait for a key"), "retries": _("Times the prompt is repeated"),
        "store_as": _("Store the key as survey answer (optional key)"),
        "var": _("Variable name"), "var_hint": _("Texts and branches use it as {name}."),
        "max_digits": _("Most digits"), "digits_timeout": _("Seconds to wait for each digit"),
        "branch_var": _("Value to compare"), "cases": _("Cases"), "case": _("Value"),
        "add_case": _("Add a case"), "remove_case": _("Remove case %(value)s"),
        "case_taken": _("Another case has this value."),
        "target_kind": _("Transfer to"), "kind_extension": _("An extension"),
        "kind_agents": _("Extensions tried in turn"), "kind_queue": _("A queue"),
        "kind_number": _("An outside number"),
        "extension": _("Extension"), "agents": _("Extensions, tried in the order ticked"),
        "queue": _("Queue"), "number": _("Phone number"),
        "no_extensions": _("You have no extensions yet."),
        "no_queues": _("You have no queues yet."),
        "not_yours": _("%(value)s (not one of yours)"),
        "ring": _("Seconds to ring"),
        "queue_hint": _("The queue takes the call over: its own fallback applies."),
        "max_seconds": _("Longest recording (seconds)"), "beep": _("Beep before recording"),
        "field": _("Contact field"), "value": _("Value"),
        "result": _("Result word"),
        "result_hint": _("Stored on the campaign contact, e.g. confirmed or callback."),
        "opt_out_hint": _("Puts the caller's number on your do-not-call list."),
        "not_object": _("This node is not an object: fix it in the advanced view."),
        "unknown_type": _("Unknown type %(type)s: fix it in the advanced view."),
        "bad_json": _("The advanced JSON is not valid; the builder shows the last valid tree. "
                      "A change in the builder replaces the JSON."),
        "no_nodes": _("The tree has no nodes yet: add the first one below."),
        "checking": _("Checking…"), "ok": _("No problems found."),
        "problems": _("%(count)s problem(s): see the marked nodes and fields."),
        "node_problems": _("%(count)s problem(s)"),
        "check_failed": _("The draft could not be checked (the server did not answer)."),
        "readonly": _("Read-only: this IVR is in use."),
    }


class IvrForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    number = StringField(_l("Number (dialled by your phones; empty: none)"),
                         validators=[Length(max=6)])
    tree = TextAreaField(_l("Tree (JSON)"), validators=[DataRequired(), Length(max=100000)])


def _render(form: IvrForm, row: Ivr | None, errors: list[str] = (), status: int = 200):
    nodes = []
    if row is not None:
        try:
            nodes = ivr.describe(json.loads(row.tree))
        except ValueError:
            nodes = []
    tid = current_tenant_id()
    users = flow_service.ivr_users(row) if row else []
    # an IVR in use opens read-only; ?edit=1 (the Edit button), or a post, edits it anyway
    readonly = bool(users) and request.method == "GET" and request.args.get("edit") != "1"
    check_url = (url_for("ivrs.check_saved", ivr_id=row.id) if row is not None
                 else url_for("ivrs.check"))
    builder = {"choices": flow_service.builder_choices(tid), "check": check_url,
               "audio": url_for("prompts.audio", prompt_id=0).replace("/0/", "/{id}/"),
               "library": url_for("prompts.index"),
               "readonly": readonly, "types": list(ivr.NODE_TYPES)}
    return render_template("ivrs/form.html", form=form, ivr=row, errors=list(errors),
                           nodes=nodes, node_types=ivr.NODE_TYPES, builder=builder,
                           builder_texts=_builder_texts(),
                           readonly=readonly, users=users), status


def _save(form: IvrForm, row: Ivr | None, **back):
    """create's and edit's answer: a valid post saved (save_ivr's checks), flashed and sent
    back to the editor (with `back` in its URL); else the form again: with save_ivr's errors
    and the row as stored (400), or as it is (400 for a post the form rejects, 200 a GET)."""
    if not form.validate_on_submit():
        return _render(form, row, status=400 if form.is_submitted() else 200)
    try:
        saved = flow_service.save_ivr(
            current_tenant_id() if row is None else row.tenant_id, form.name.data,
            form.tree.data, row=row, number=form.number.data or "", actor=current_user,
            ip=request.remote_addr or "")
    except flow_service.FlowServiceError as exc:
        stored = None if row is None else get_scoped(Ivr, current_tenant_id(), row.id)
        return _render(form, stored, exc.errors, 400)
    flash(_("IVR '%(name)s' saved.", name=saved.name), "success")
    return redirect(url_for("ivrs.edit", ivr_id=saved.id, **back))


@bp.route("/")
@tenant_required
@feature_required("voice_ivr")
def index():
    q = search_arg()
    page = Page.from_request(matching(scoped(Ivr, current_tenant_id()), q, Ivr.name, Ivr.number)
                             .order_by(Ivr.name, Ivr.id), 50)
    return render_template("ivrs/list.html", ivrs=page.items, page=page, q=q,
                           sizes={r.id: len(json.loads(r.tree or "{}").get("nodes", {}))
                                  for r in page.items})


@bp.route("/new", methods=["GET", "POST"])
@tenant_required
@feature_required("voice_ivr")
def create():
    form = IvrForm()
    if request.method == "GET":
        form.tree.data = ivr.dumps(_starter())
    return _save(form, None)


@bp.route("/<int:ivr_id>", methods=["GET", "POST"])
@tenant_required
@feature_required("voice_ivr")
def edit(ivr_id: int):
    row = get_scoped(Ivr, current_tenant_id(), ivr_id)
    form = IvrForm(obj=row)
    return _save(form, row, edit=request.args.get("edit"))


@bp.route("/<int:ivr_id>/delete", methods=["POST"])
@tenant_required
@feature_required("voice_ivr")
def delete(ivr_id: int):
    row = get_scoped(Ivr, current_tenant_id(), ivr_id)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            flow_service.delete_ivr(row, actor=current_user, ip=request.remote_addr or "")
        except flow_service.FlowServiceError as exc:
            flash(_("Not deleted: %(why)s", why=exc), "error")
            return redirect(url_for("ivrs.edit", ivr_id=row.id))
        flash(_("IVR '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("ivrs.index"))


@bp.route("/<int:ivr_id>/duplicate", methods=["POST"])
@tenant_required
@feature_required("voice_ivr")
def duplicate(ivr_id: int):
    row = get_scoped(Ivr, current_tenant_id(), ivr_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        return redirect(url_for("ivrs.edit", ivr_id=row.id))
    try:
        copy = flow_service.duplicate_ivr(row, actor=current_user, ip=request.remote_addr or "")
    except flow_service.FlowServiceError as exc:
        flash(_("Not duplicated: %(why)s", why=exc), "error")
        return redirect(url_for("ivrs.edit", ivr_id=row.id))
    flash(_("IVR '%(name)s' duplicated as '%(copy)s'.", name=row.name, copy=copy.name), "success")
    return redirect(url_for("ivrs.edit", ivr_id=copy.id))


@bp.route("/check", methods=["POST"])
@bp.route("/<int:ivr_id>/check", methods=["POST"], endpoint="check_saved")
@tenant_required
@feature_required("voice_ivr")
def check(ivr_id: int | None = None):
    """The builder's live check of a draft (JSON {"tree", "name", "number"}; CSRF token in
    the X-CSRFToken header): save_ivr's checks against the tenant's own data, nothing saved."""
    tid = current_tenant_id()
    if ivr_id is not None:
        get_scoped(Ivr, tid, ivr_id)  # another tenant's IVR: 404
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "tree" not in data:
        abort(400)
    name, number = data.get("name"), data.get("number")
    result = flow_service.check_draft(
        tid, data["tree"], name=name if isinstance(name, str) else None,
        number=number if isinstance(number, str) else None, ivr_id=ivr_id)
    return jsonify(result)
