"""Webhook endpoints in the UI: a tenant's admin manages the tenant's at /webhooks, the
provider's admin the provider's (every event) at /admin/webhooks, where the tenants'
endpoints are listed too. Through voxcast.webhooks.endpoints, like the API. A new or rotated
secret is shown once, in the response that made it (never flashed: flash messages live in
the session cookie)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from models import Tenant
from voxcast.webhooks import endpoints
from voxcast.webhooks.events import EVENTS

from .auth import admin_required, tenant_required
from .paging import Page, matching, search_arg

PER_PAGE = 50

bp = Blueprint("webhooks", __name__)
DELIVERIES_PER_PAGE = 25
ALL = "*"


def _event_choices():
    groups = sorted({e.split(".")[0] for e in EVENTS if e != "webhook.test"})
    return ([(ALL, _l("All events"))] + [(f"{g}.*", f"{g}.*") for g in groups]
            + [(e, e) for e in EVENTS if e != "webhook.test"])


class EndpointForm(FlaskForm):
    url = StringField(_l("URL"), validators=[DataRequired(), Length(max=1000)],
                      description=_l("Where the events are POSTed: https://..."))
    events = SelectMultipleField(_l("Events"), default=[ALL],
                                 option_widget=widgets.CheckboxInput(),
                                 widget=widgets.ListWidget(prefix_label=False),
                                 description=_l("All events, a group (campaign.*) or single events."))
    description = StringField(_l("Description"), validators=[Length(max=255)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.choices = _event_choices()


class ActionForm(FlaskForm):
    pass


def _scope() -> int | None:
    return None if current_user.is_admin else current_user.tenant_id


def _prefix() -> str:
    return "webhooks.admin_" if current_user.is_admin else "webhooks.tenant_"


def _endpoint(webhook_id: int):
    try:
        return endpoints.get(webhook_id, _scope())
    except endpoints.NoSuchEndpoint:
        abort(404)


def _list_page():
    owner = _scope()
    form = EndpointForm()
    secret, created, status = None, None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                made = endpoints.create(tenant_id=owner, url=form.url.data,
                                        events_value=form.events.data or [ALL],
                                        description=form.description.data or "",
                                        actor=current_user, ip=request.remote_addr or "")
                secret, created = made.secret, made.endpoint
                form = EndpointForm(formdata=None)
            except endpoints.WebhookError as exc:
                for name, reason in exc.errors.items():
                    getattr(form, name, form.url).errors.append(reason)
                status = 400
        else:
            status = 400
    q = search_arg()
    fields = (endpoints.WebhookEndpoint.url, endpoints.WebhookEndpoint.description)
    page = Page.from_request(matching(endpoints.endpoints_of(owner), q, *fields), PER_PAGE)
    tenants_rows, tenants_page = [], None
    if owner is None:
        tenants_page = Page.from_request(
            matching(endpoints.endpoints_of(None, everyone=True)
                     .where(endpoints.WebhookEndpoint.tenant.is_null(False)), q, *fields),
            PER_PAGE, arg="tpage")
        rows = tenants_page.items
        names = {t.id: t.name for t in Tenant.select(Tenant.id, Tenant.name)
                 .where(Tenant.id.in_({r.tenant_id for r in rows}))} if rows else {}
        tenants_rows = [(r, names.get(r.tenant_id, "")) for r in rows]
    return render_template("webhooks/index.html", form=form, rows=page.items, page=page, q=q,
                           tenant_rows=tenants_rows, tenants_page=tenants_page,
                           secret=secret, created=created, prefix=_prefix(),
                           is_provider=owner is None), status


def _detail_page(webhook_id: int, secret: str | None = None, status: int = 200):
    row = _endpoint(webhook_id)
    page = Page.from_request(endpoints.deliveries(row), DELIVERIES_PER_PAGE)
    return render_template("webhooks/detail.html", row=row, page=page, secret=secret,
                           action=ActionForm(), prefix=_prefix(),
                           events=endpoints.event_list(row), is_provider=_scope() is None), status


def _checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _delete(webhook_id: int):
    row = _endpoint(webhook_id)
    _checked()
    endpoints.delete(row, actor=current_user, ip=request.remote_addr or "")
    flash(_("Webhook %(url)s deleted: it receives nothing from now on.", url=row.url), "success")
    return redirect(url_for(_prefix() + "list"))


def _rotate(webhook_id: int):
    row = _endpoint(webhook_id)
    _checked()
    secret = endpoints.rotate_secret(row, actor=current_user, ip=request.remote_addr or "")
    return _detail_page(row.id, secret=secret)


def _test(webhook_id: int):
    row = _endpoint(webhook_id)
    _checked()
    endpoints.send_test(row, actor=current_user, ip=request.remote_addr or "")
    flash(_("A test event is queued; it appears below once sent."), "success")
    return redirect(url_for(_prefix() + "detail", webhook_id=row.id))


def _toggle(webhook_id: int):
    row = _endpoint(webhook_id)
    _checked()
    endpoints.update(row, {"active": not row.active}, actor=current_user,
                     ip=request.remote_addr or "")
    flash(_("Webhook enabled.") if row.active else
          _("Webhook paused: events are kept and sent once it is enabled again."), "success")
    return redirect(url_for(_prefix() + "detail", webhook_id=row.id))


def _redeliver(webhook_id: int, delivery_id: int):
    row = _endpoint(webhook_id)
    _checked()
    try:
        delivery = endpoints.get_delivery(row, delivery_id)
    except endpoints.NoSuchEndpoint:
        abort(404)
    endpoints.redeliver(row, delivery, actor=current_user, ip=request.remote_addr or "")
    flash(_("The delivery is sent again."), "success")
    return redirect(url_for(_prefix() + "detail", webhook_id=row.id))


TENANT = tenant_required(roles=("tenant",))

for _owner, _base, _guard in (("tenant", "/webhooks", TENANT), ("admin", "/admin/webhooks",
                                                                 admin_required)):
    bp.add_url_rule(f"{_base}/", f"{_owner}_list", _guard(_list_page), methods=["GET", "POST"])
    bp.add_url_rule(f"{_base}/<int:webhook_id>", f"{_owner}_detail", _guard(_detail_page))
    bp.add_url_rule(f"{_base}/<int:webhook_id>/delete", f"{_owner}_delete", _guard(_delete),
                    methods=["POST"])
    bp.add_url_rule(f"{_base}/<int:webhook_id>/rotate", f"{_owner}_rotate", _guard(_rotate),
                    methods=["POST"])
    bp.add_url_rule(f"{_base}/<int:webhook_id>/test", f"{_owner}_test", _guard(_test),
                    methods=["POST"])
    bp.add_url_rule(f"{_base}/<int:webhook_id>/toggle", f"{_owner}_toggle", _guard(_toggle),
                    methods=["POST"])
    bp.add_url_rule(f"{_base}/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
                    f"{_owner}_redeliver", _guard(_redeliver), methods=["POST"])
