"""German: a user whose language is "de" (or whose tenant's is, or whose browser asks for it)
sees German navigation, pages and flash messages; the catalogue is complete and compiled."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from models import User

TRANSLATIONS = Path(__file__).resolve().parents[2] / "webui" / "translations" / "de" / "LC_MESSAGES"


def test_given_german_user_then_navigation_and_flash_are_german(app, make_tenant, auth, client):
    _t, user = make_tenant("acme", role="tenant", username="hans")
    User.update(language="de").where(User.id == user.id).execute()
    page = auth.login("hans", "pw-hans", follow_redirects=True).get_data(as_text=True)
    for german in ("Übersicht", "Kampagnen", "Kontakte", "Berichte", "Benutzer",
                   "Nebenstellen", "Mein Konto", "Abmelden", "Guthaben", "Letzte Anrufe"):
        assert german in page, german
    assert "Reports" not in page and "Call records" not in page and "Log out" not in page
    assert 'lang="de"' in page

    res = auth.post("/account/profile", {"first_name": "Hans", "timezone": "Europe/Berlin",
                                         "language": "de", "theme": "light"},
                    follow_redirects=True)
    assert "Ihr Profil ist gespeichert." in res.get_data(as_text=True)
    res = auth.post("/users/new", {"username": "xaver", "role": "user", "password": "kurz",
                                   "pin": "1234"})
    body = res.get_data(as_text=True)
    assert res.status_code == 400 and "Mindestens 8 Zeichen." in body
    res = auth.post("/users/new", {"username": "xaver", "role": "user",
                                   "password": "lang-genug-1", "pin": "12"})
    assert "4 bis 8 Ziffern." in res.get_data(as_text=True)
    assert "Bitte korrigieren Sie die markierten Felder" in body


def test_given_tenant_language_german_then_its_users_see_german(app, make_tenant, auth, client):
    _t, user = make_tenant("acme", role="user", username="erika", language="de")
    page = auth.login("erika", "pw-erika", follow_redirects=True).get_data(as_text=True)
    assert "Kampagnen" in page and "Abmelden" in page


def test_given_german_tenant_admin_when_ledger_refuses_then_the_reason_is_german(
        app, make_tenant, auth):
    _t, user = make_tenant("acme", role="tenant", username="greta", language="de")
    auth.login("greta", "pw-greta")
    resp = auth.post("/billing/settings", {"threshold": "zehn"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Der Schwellenwert muss eine Zahl wie 25.00 sein, nicht &#39;zehn&#39;." in body
    assert "must be a number" not in body


def test_given_english_user_with_german_browser_then_user_choice_wins(app, make_tenant, auth,
                                                                       client):
    _t, user = make_tenant("acme", role="tenant", username="john")
    User.update(language="en").where(User.id == user.id).execute()
    auth.login("john", "pw-john")
    page = client.get("/dashboard/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Dashboard" in page and "Übersicht" not in page


def test_given_anonymous_german_browser_then_login_page_is_german(client):
    page = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(
        as_text=True)
    assert "Anmelden" in page and "Log in" not in page


def test_catalogue_is_complete_and_compiled():
    po = read_po(open(TRANSLATIONS / "messages.po", "rb"))
    untranslated = [m.id for m in po if m.id and not (all(m.string) if isinstance(m.string, tuple)
                                                       else m.string)]
    assert untranslated == []
    assert not [m.id for m in po if m.id and m.fuzzy]
    mo = read_mo(open(TRANSLATIONS / "messages.mo", "rb"))
    key = lambda m: tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id  # noqa: E731
    assert {key(m) for m in po if m.id} <= {key(m) for m in mo if m.id}
