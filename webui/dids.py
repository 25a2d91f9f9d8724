"""The tenant's DIDs: the provider allocates numbers, the tenant administrator routes each to
the greeting, an IVR, a queue, a user's phone (voicemail to their e-mail when unanswered) or a
campaign, optionally somewhere else outside the organisation's timeslots (supervisors may
look). An inbound call to a DID no tenant holds is refused by the Stasis app."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Campaign, Did, User
from models.entities import Ivr, Queue, Timeslot
from models.tenancy import get_scoped, scoped
from voxcast.audio import library
from voxcast.numbers import routing as number_service
from voxcast.numbers.routing import RoutingError

from voxcast.tenants import features

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .permissions import current_tenant
from .params import parse_id
from .users import MANAGERS, VIEWERS

bp = Blueprint("dids", __name__, url_prefix="/dids")

KINDS = ("ivr", "queue", "user", "campaign")


def _destination(value: str) -> tuple[str, int | None] | None:
    """'greeting' / '<kind>:<id>' -> (kind, id); None when it is neither."""
    if value in ("greeting", ""):  # "" as the page before time-of-day routing sent it
        return "greeting", None
    if value == "fax":  # receive faxes (issue 14): no target
        return "fax", None
    kind, _sep, pk = (value or "").partition(":")
    pk = parse_id(pk)
    if kind not in KINDS or pk is None:
        return None
    return kind, pk


def _current(did: Did) -> str:
    target = {"ivr": did.ivr_id, "queue": did.queue_id, "user": did.user_id,
              "campaign": did.campaign_id}.get(did.route)
    if did.route == "fax":
        return "fax"
    return f"{did.route}:{target}" if target else "greeting"


def _closed(did: Did) -> str:
    if not did.closed_route:
        return ""
    if did.closed_route == "fax":
        return "fax"
    if did.closed_route == "greeting" or did.closed_target is None:
        return "greeting"
    return f"{did.closed_route}:{did.closed_target}"


def _greeting_fields() -> dict:
    """The greeting's prompt, when the form has the picker ("" = the greeting text)."""
    if "greeting_prompt" not in request.form:
        return {}
    raw = request.form.get("greeting_prompt", "")
    return {"greeting_prompt_id": None if raw == "" else (parse_id(raw) or -1)}


def _fax_fields() -> dict:
    """The fax settings, when the form has them (the tenant's plan includes fax)."""
    if "fax_emails" not in request.form:
        return {}
    return {"fax_detect": request.form.get("fax_detect") == "1",
            "fax_emails": request.form.get("fax_emails", "")}


@bp.route("/")
@tenant_required(roles=VIEWERS)
def index():
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(
        matching(scoped(Did, tid), q, Did.number, Did.greeting_text).order_by(Did.number, Did.id),
        100)
    dids = page.items
    options = {
        "ivr": [(i.id, i.name) for i in scoped(Ivr, tid).order_by(Ivr.name)],
        "queue": [(q.id, q.name) for q in scoped(Queue, tid).order_by(Queue.name)],
        "user": [(u.id, u.username) for u in scoped(User, tid).order_by(User.username)],
        "campaign": [(c.id, c.name) for c in scoped(Campaign, tid).order_by(Campaign.name)],
    }
    names = {f"{kind}:{pk}": name for kind, rows in options.items() for pk, name in rows}
    prompts = library.prompts(tid)
    by_sound = {p.sound: p for p in prompts}
    return render_template("dids/list.html", dids=dids, page=page, q=q, options=options,
                           names=names, prompts=prompts,
                           greeting_prompt={d.id: by_sound.get(d.greeting_file) for d in dids},
                           current={d.id: _current(d) for d in dids},
                           closed={d.id: _closed(d) for d in dids},
                           has_timeslots=Timeslot.select().where(Timeslot.tenant == tid).exists(),
                           can_manage=current_user.role in MANAGERS,
                           fax=features.has(current_tenant(), "fax"))


@bp.route("/<int:did_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
def route(did_id: int):
    did = get_scoped(Did, current_tenant_id(), did_id)
    open_dest = _destination(request.form.get("destination", "greeting"))
    raw_closed = request.form.get("closed", "")
    closed_dest = ("", None) if raw_closed == "" else _destination(raw_closed)
    if open_dest is None or closed_dest is None:
        flash(_("Choose a destination from the list."), "error")
        return redirect(url_for("dids.index"))
    kind, target = open_dest
    # one destination: the chosen kind's target is set, the others cleared
    changes = {field: (target if k == kind else None)
               for k, field in number_service.TARGET_FIELDS.items()}
    changes["route"] = kind
    try:
        did = number_service.route_did(
            did, **changes, closed_route=closed_dest[0], closed_target=closed_dest[1],
            closed_text=request.form.get("closed_text", ""),
            greeting_text=request.form.get("greeting_text", ""),
            **_greeting_fields(), **_fax_fields(), actor=current_user, ip=request.remote_addr or "")
    except RoutingError as exc:
        flash(str(exc), "error")
    else:
        flash(_("DID %(number)s saved.", number=did.number), "success")
    return redirect(url_for("dids.index"))
