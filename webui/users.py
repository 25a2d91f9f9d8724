"""Administration → User Management: the tenant administrator creates, edits, disables and
deletes its users, supervisors and agents; supervisors may look but not change."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models import Extension, Tenant, User
from models.tenancy import get_scoped, scoped
from voxcast.accounts import users as user_service
from voxcast.accounts.users import UserError

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg

bp = Blueprint("users", __name__, url_prefix="/users")

MANAGERS = ("tenant",)
VIEWERS = ("tenant", "supervisor")
ROLE_LABELS = {"tenant": _l("Administrator"), "supervisor": _l("Supervisor"),
               "user": _l("User"), "agent": _l("Agent")}
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "timezone", "language")


def language_choices():
    return [("", _("Organisation default")), ("en", "English"), ("de", "Deutsch")]


def timezone_choices():
    return [("", _("Organisation default"))] + [(z, z) for z in user_service.timezones()]


class ProfileFields(FlaskForm):
    first_name = StringField(_l("First name"), validators=[Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=30)])
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    language = SelectField(_l("Language"), validate_choice=False)

    def fill_choices(self):
        self.timezone.choices = timezone_choices()
        self.language.choices = language_choices()


class UserForm(ProfileFields):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), validate_choice=False)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=500)])
    pin = PasswordField(_l("PIN"), validators=[Optional(), Length(max=8)],
                        description=_l("4 to 8 digits, for phone log-in."))


def _form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user) if user is not None and request.method == "GET" else UserForm()
    form.fill_choices()
    form.role.choices = [(r, ROLE_LABELS[r]) for r in user_service.MANAGED_ROLES]
    if user is not None:
        form.password.description = _("Leave empty to keep the current password.")
        form.pin.description = _("Leave empty to keep the current PIN.")
        form.username.render_kw = {"readonly": True}
        form.password.data = ""
        form.pin.data = ""
    return form


def _profile(form: UserForm) -> dict:
    return {name: getattr(form, name).data or "" for name in PROFILE_FIELDS}


def _apply_error(form: FlaskForm, exc: UserError) -> str | None:
    """Put the (translated) message under its field; returns it when it belongs to none."""
    message = _(exc.template, **exc.params)
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return message
    field.errors = list(field.errors) + [message]
    return None


def _managed(user_id: int) -> User:
    user = get_scoped(User, current_tenant_id(), user_id)
    if user.role not in user_service.MANAGED_ROLES or user.id == current_user.id:
        abort(403)
    return user


@bp.route("/")
@tenant_required(roles=VIEWERS)
def index():
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(
        matching(scoped(User, tid), q, User.username, User.first_name, User.last_name,
                 User.email).order_by(User.role, User.username, User.id), 50)
    users = page.items
    extensions = {}
    for ext in scoped(Extension, tid).where(Extension.user.is_null(False),
                                            Extension.user.in_([u.id for u in users])):
        extensions.setdefault(ext.user_id, []).append(ext.number)
    tenant = Tenant.get_by_id(tid)
    agents = scoped(User, tid).where(User.role == "agent").count()
    counts = {"users": scoped(User, tid).count() - agents, "agents": agents}
    return render_template("users/list.html", users=users, page=page, q=q, extensions=extensions,
                           tenant=tenant, counts=counts, roles=ROLE_LABELS,
                           can_manage=current_user.role in MANAGERS)


@bp.route("/new", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
def create():
    form = _form()
    error = None
    if form.validate_on_submit():
        try:
            user = user_service.create_user(
                Tenant.get_by_id(current_tenant_id()), username=form.username.data,
                role=form.role.data, password=form.password.data or "", pin=form.pin.data or "",
                actor=current_user, ip=request.remote_addr or "", **_profile(form))
        except UserError as exc:
            error = _apply_error(form, exc)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, user=None, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
def edit(user_id: int):
    user = _managed(user_id)
    form = _form(user)
    error = None
    if form.validate_on_submit():
        try:
            user_service.update_user(
                user, role=form.role.data, password=form.password.data or "",
                pin=form.pin.data or "", actor=current_user, ip=request.remote_addr or "",
                **_profile(form))
        except UserError as exc:
            error = _apply_error(form, exc)
        else:
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("users.index"))
    form.username.data = user.username
    return render_template("users/form.html", form=form, user=user, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/<int:user_id>/<any(enable, disable):action>", methods=["POST"])
@tenant_required(roles=MANAGERS)
def toggle(user_id: int, action: str):
    user = _managed(user_id)
    user_service.set_active(user, action == "enable", actor=current_user,
                            ip=request.remote_addr or "")
    if action == "enable":
        flash(_("User %(name)s enabled.", name=user.username), "success")
    else:
        flash(_("User %(name)s disabled: they are logged out and cannot log in.",
                name=user.username), "success")
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
def delete(user_id: int):
    user = _managed(user_id)
    user_service.delete_user(user, actor=current_user, ip=request.remote_addr or "")
    flash(_("User %(name)s deleted; their extensions and DIDs are unassigned.",
            name=user.username), "success")
    return redirect(url_for("users.index"))
