"""The voxcast web UI: a Flask app factory with one blueprint per area."""
from __future__ import annotations

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import Babel, gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, CSRFProtect

import models
from models.tenancy import TenantScopeError
from voxcast import config

csrf = CSRFProtect()
babel = Babel()
LANGUAGES = {"en": "English", "de": "Deutsch"}


def select_locale() -> str:
    """The user's language, else the tenant's, else the browser's, else English."""
    if current_user and getattr(current_user, "is_authenticated", False):
        lang = getattr(current_user, "language", "")
        if lang in LANGUAGES:
            return lang
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def campaign_reason(progress: dict) -> str:
    """Why a campaign is paused or waiting, in the reader's language (the code and params that
    voxcast.campaigns.lifecycle stored; the English text for a reason from before codes)."""
    from flask_babel import gettext
    from voxcast.campaigns.lifecycle import describe
    if not progress.get("status_code"):
        return progress.get("status_reason", "")
    return describe(progress["status_code"], progress.get("status_params"), gettext)


def create_app(settings: config.Settings | None = None, test_config: dict | None = None) -> Flask:
    settings = settings or config.load()
    from .flask_app import VoxcastFlask
    app = VoxcastFlask(__name__)  # Flask, with two per-request answers kept (webui.flask_app)
    from .json_provider import OrjsonProvider
    app.json = OrjsonProvider(app)  # Flask's JSON, encoded faster
    app.config.from_mapping(
        SECRET_KEY=config.read_or_create_secret(settings.secret_key_file),
        VOXCAST_SETTINGS=settings,
        DATABASE_URL=settings.db_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # audio uploads and contact CSVs
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if test_config:
        app.config.from_mapping(test_config)

    # pooled: a request takes a connection from the pool and hands it back (models.db)
    models.init_database(app.config["DATABASE_URL"], pooled=True)  # the schema is `voxcast initdb`'s

    from . import db
    db.init_app(app)
    csrf.init_app(app)
    from . import security
    security.init_app(app)  # cookie flags, session lifetime, security headers
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories="translations")
    from .flask_app import install_translations
    install_translations(app)  # templates' gettext: the catalogue looked up once per request
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["campaign_reason"] = campaign_reason

    from .params import BoundedIntConverter
    app.url_map.converters["int"] = BoundedIntConverter  # before any rule uses <int:...>
    from . import admin, auth, campaigns, cdrs, contacts, status
    auth.login_manager.init_app(app)
    for bp in (auth.bp, campaigns.bp, contacts.bp, cdrs.bp, admin.bp, status.bp):
        app.register_blueprint(bp)
    from . import activation, admin_capabilities, admin_resources, permissions, tenant_log
    for bp in (admin_capabilities.bp, admin_resources.bp, tenant_log.bp, activation.bp):
        app.register_blueprint(bp)
    permissions.init_app(app)
    from . import viewer
    viewer.init_app(app)  # the viewer's time zone: |local_dt
    from . import api, api_keys
    api.init_app(app)  # /api/v1: key auth, no CSRF, JSON errors
    app.register_blueprint(api_keys.bp)
    from . import dnc
    app.register_blueprint(dnc.bp)  # /dnc/ and the provider's /admin/dnc/
    from . import admin_billing, billing  # rate plans, payments, costs
    app.register_blueprint(admin_billing.bp)
    app.register_blueprint(billing.bp)

    @app.errorhandler(TenantScopeError)
    def not_yours(exc):
        return render_template("error.html", code=404, message=_("Not found.")), 404

    @app.errorhandler(CSRFError)
    def csrf_refused(exc):
        return render_template(
            "error.html", code=400,
            message=_("The form expired or was not sent by this site; reload the page and "
                      "try again."),
        ), 400

    @app.errorhandler(403)
    def forbidden(exc):
        return render_template("error.html", code=403,
                               message=_("You do not have access to this page.")), 403

    @app.errorhandler(404)
    def not_found(exc):
        if request.path.startswith("/api/"):
            from .api import http_error
            return http_error(exc)
        return render_template("error.html", code=404, message=_("Not found.")), 404

    from . import account, dashboard, dids, extensions, users  # tenant portal, My Account
    for bp in (dashboard.bp, users.bp, extensions.bp, dids.bp, account.bp):
        app.register_blueprint(bp)
    from . import ivrs  # IVR trees for campaigns and DIDs
    app.register_blueprint(ivrs.bp)
    from . import admin_sip  # failed SIP authentications and bans
    app.register_blueprint(admin_sip.bp)
    from . import agent_setup, queues  # contact centre: agents now, pause reasons, dispositions, queues
    app.register_blueprint(agent_setup.bp)
    app.register_blueprint(queues.bp)
    from . import agent_console  # the agent's home: states, contact pop, call control
    app.register_blueprint(agent_console.bp)
    from . import evaluation  # agent evaluation: forms, scoring calls, the summary
    app.register_blueprint(evaluation.bp)
    from . import supervisor  # the wallboard, forced pause / logout, live statistics
    app.register_blueprint(supervisor.bp)
    from . import supervisor_monitor  # listen / whisper / barge on the supervisor's phone
    app.register_blueprint(supervisor_monitor.bp)
    from . import report_pages  # agent, disposition, queue, campaign statistics; the builder
    app.register_blueprint(report_pages.bp)
    from . import reports  # the reports menu, the CDR summary
    app.register_blueprint(reports.bp)
    from . import messages  # message records: SMS, fax, e-mail (issue 14)
    app.register_blueprint(messages.bp)
    from . import email_dnc, email_preview, unsubscribe  # e-mail campaigns (issue 14)
    for bp in (email_dnc.bp, email_preview.bp, unsubscribe.bp):
        app.register_blueprint(bp)
    from . import fax_documents, fax_inbox  # fax documents and received faxes (issue 14)
    for bp in (fax_documents.bp, fax_inbox.bp):
        app.register_blueprint(bp)
    from . import admin_smsc, inbound_sms  # SMSC connections, inbound SMS (issue 14)
    for bp in (admin_smsc.bp, inbound_sms.bp):
        app.register_blueprint(bp)
    from . import admin_packages, admin_subscriptions, subscription  # packages (issue 15)
    for bp in (admin_packages.bp, admin_subscriptions.bp, subscription.bp):
        app.register_blueprint(bp)
    from . import webhooks  # webhook endpoints: the tenant's and the provider's (issue 15)
    app.register_blueprint(webhooks.bp)
    from . import prompts  # the tenant's audio library (issue 17)
    app.register_blueprint(prompts.bp)
    from . import sections  # bare section URLs (/admin/, /fax...) lead to the first page
    app.register_blueprint(sections.bp)
    from . import health  # /health: 200 while the database answers, else 503
    app.register_blueprint(health.bp)

    @app.route("/")
    @login_required
    def index():
        if current_user.is_admin:
            return redirect(url_for("admin.tenants"))
        if current_user.role in auth.CAMPAIGN_ROLES:
            return redirect(url_for("dashboard.index"))
        if current_user.role == "agent" and permissions.has_feature("agents"):
            return redirect(url_for("agent_console.index"))
        return render_template("home.html")

    return app
