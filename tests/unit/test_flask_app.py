"""webui.flask_app: what the web UI's Flask keeps between requests depends only on functions,
secret keys and locales, never on a request or a session."""
from __future__ import annotations

import asyncio

from flask import render_template_string
from flask_babel import force_locale

from webui.flask_app import SessionInterface, VoxcastFlask


def test_ensure_sync_is_flasks_answer_kept_per_function():
    app = VoxcastFlask(__name__)

    def plain():
        return "plain"

    async def coroutine():
        return "async"

    assert app.ensure_sync(plain) is plain and app.ensure_sync(plain) is plain
    for _ in range(2):  # still Flask's answer for a coroutine (here: no async extra installed)
        try:
            wrapped = app.ensure_sync(coroutine)
        except RuntimeError:
            continue
        assert wrapped is not coroutine
    assert asyncio.iscoroutinefunction(coroutine)


def test_the_session_serializer_follows_the_secret_key():
    app = VoxcastFlask(__name__)
    app.secret_key = "first"
    sessions = app.session_interface
    assert isinstance(sessions, SessionInterface)
    one = sessions.get_signing_serializer(app)
    assert sessions.get_signing_serializer(app) is one
    signed = one.dumps({"a": 1})
    app.secret_key = "second"
    two = sessions.get_signing_serializer(app)
    assert two is not one and two.dumps({"a": 1}) != signed
    app.config["SECRET_KEY_FALLBACKS"] = ["first"]
    assert sessions.get_signing_serializer(app).loads(signed) == {"a": 1}  # the old key too
    assert VoxcastFlask(__name__).session_interface is not sessions  # one per app


def test_templates_translate_per_request_and_per_forced_locale(app):
    text = '{{ _("Log out") }}'
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert render_template_string(text) == "Abmelden"
        with force_locale("en"):
            assert render_template_string(text) == "Log out"
        assert render_template_string(text) == "Abmelden"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(text) == "Log out"


def test_portal_campaign_list_pages_and_searches(app, auth, client):
    from models import Campaign, Tenant
    master = Tenant.get(Tenant.slug == "master")
    for i in range(53):
        Campaign.create(tenant=master, name=f"Camp {i:02d}", type="voice_message")
    auth.login()
    first = client.get("/campaigns/").get_data(as_text=True)
    assert "Camp 52" in first and "Camp 03" in first and "Camp 02" not in first  # newest first
    second = client.get("/campaigns/?page=2").get_data(as_text=True)
    assert "Camp 02" in second and "Camp 00" in second and "Camp 03" not in second
    found = client.get("/campaigns/", query_string={"q": "Camp 0"}).get_data(as_text=True)
    assert "Camp 07" in found and "Camp 10" not in found
