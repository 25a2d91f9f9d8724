"""Response headers, session settings and reverse-proxy trust, set once for the whole app.

The Content-Security-Policy allows scripts and styles from our own static files only (no
'unsafe-inline'): templates carry no inline <script>, style= attributes or on...= handlers,
which tests/unit/test_security_headers.py checks, so an injected script cannot run."""
from __future__ import annotations

import datetime as dt
import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

def build_csp(connect: str = "") -> str:
    """The policy; `connect` adds one origin to connect-src (the browser phone's wss://)."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",  # the audio library's recorder previews its recording (blob:)
        "connect-src 'self'" + (f" {connect}" if connect else ""),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


CSP = build_csp()
# Pages that carry the browser phone (the agent console): only they may open its WebSocket.
PHONE_BLUEPRINTS = ("agent_console",)


def wss_origin(url: str) -> str:
    """wss://host:port of the browser phones' URL (nothing else of it goes into the CSP)."""
    from urllib.parse import urlsplit
    import re
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("wss", "ws") or not re.fullmatch(r"[A-Za-z0-9.:-]+", parts.hostname or ""):
        return ""  # nothing but a host name or address may reach the policy
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: Flask-WTF checks the Referer of form posts over HTTPS.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), payment=(), usb=()",
}

SESSION_HOURS_DEFAULT = 8


def https_enabled() -> bool:
    return os.environ.get("VOXCAST_HTTPS", "") == "1"


def trusted_proxies() -> int:
    """VOXCAST_TRUSTED_PROXIES: how many reverse proxies stand in front of the web UI (0, the
    default: none, X-Forwarded-* headers are ignored, else any client could pick its address
    and escape the login limits)."""
    raw = os.environ.get("VOXCAST_TRUSTED_PROXIES", "").strip() or "0"
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 10:
        raise ValueError(f"VOXCAST_TRUSTED_PROXIES must be a number of proxies (0-10), "
                         f"not {raw!r}")
    return count


def init_app(app: Flask) -> None:
    """Cookie flags and lifetime, then the headers on every response."""
    hours = float(os.environ.get("VOXCAST_SESSION_HOURS", SESSION_HOURS_DEFAULT))
    # An idle session ends after this long: the signed cookie is refused once older than
    # the lifetime, and every request renews it.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=hours)
    if https_enabled():
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    if proxies := trusted_proxies():
        # The client address and scheme as the trusted proxies saw them: the last `proxies`
        # X-Forwarded-For / -Proto entries, which they appended (anything before is the
        # client's own and ignored). Host is not taken from headers: the proxy passes it on.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    settings = app.config.get("VOXCAST_SETTINGS")
    origin = wss_origin(settings.wss_url) if settings is not None and settings.webrtc else ""
    phone_csp = build_csp(origin) if origin else CSP

    # the headers every response gets unless its view set them itself, as (lower-case name,
    # name, value), fixed at start-up like the cookie flags
    defaults = [(name.lower(), name, value) for name, value in HEADERS.items()]
    if https_enabled():
        defaults.append(("strict-transport-security", "Strict-Transport-Security",
                         "max-age=31536000; includeSubDomains"))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        have = {key.lower() for key in headers.keys()}
        if request.blueprint in PHONE_BLUEPRINTS and "content-security-policy" not in have:
            headers.add("Content-Security-Policy", phone_csp)
            have.add("content-security-policy")
        for lower, name, value in defaults:
            if lower not in have:
                headers.add(name, value)
        if "cache-control" not in have and request.endpoint != "static":
            # Pages hold tenant data: not kept in shared caches nor shown again after logout.
            headers.add("Cache-Control", "no-store")
        return response
