"""The web UI's Flask class: two things Flask does on every request done once instead.

Flask asks `inspect` whether each hook and view is a coroutine function on every call (eleven
times for an API request) and builds the session cookie's signing serializer anew for every
request, with or without a cookie; both answers depend only on the function and on the
secret keys, so they are kept. Nothing about a request or a session is kept."""
from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, the serializer made once per set of secret keys."""

    def __init__(self) -> None:
        self._made: tuple | None = None  # (keys, serializer)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]


class VoxcastFlask(Flask):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session_interface = SessionInterface()  # one per app: its own secret key
        self._sync: dict = {}

    def ensure_sync(self, func):
        """Flask's answer for `func`, asked once per function."""
        try:
            return self._sync[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)
        found = self._sync[func] = super().ensure_sync(func)
        return found


def request_translations():
    """flask_babel.get_translations() looked up once per request and locale: templates call
    gettext some sixty times a page, and each call looked up the domain, the locale and the
    catalogue again. A new locale object (force_locale, refresh) is looked up anew."""
    from flask import g
    from flask_babel import get_locale, get_translations
    locale = get_locale()
    found = g.get("_vx_translations")
    if found is None or found[0] is not locale:
        found = g._vx_translations = (locale, get_translations())
    return found[1]


def install_translations(app: Flask) -> None:
    """Jinja's gettext callables as Flask-Babel installs them, through request_translations."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n))
