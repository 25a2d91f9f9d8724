"""The agent console's browser phone (issue 17 item 7): what JsSIP needs to register as the
agent's extension, when that extension is a browser phone (Extension.browser_phone; its PJSIP
endpoint is rendered for WebRTC by voxcast.runtime.pjsip_sync).

The extension is the one calls are offered to (voxcast.agents.sessions.extension_of: the
lowest-numbered one assigned to the agent), looked up within the agent's own tenant."""
from __future__ import annotations

from models import Extension, User
from voxcast.agents.sessions import extension_of


def browser_extension(tenant_id: int, user_id: int) -> Extension | None:
    user = User.get_or_none((User.id == user_id) & (User.tenant == tenant_id))
    if user is None:
        return None
    ext = extension_of(user)
    if ext is None or ext.tenant_id != tenant_id or not ext.browser_phone:
        return None
    return ext


def registration(settings, tenant_id: int, user_id: int) -> dict:
    """{"enabled": False} or the WebSocket URL, SIP URI, credentials and display name."""
    ext = browser_extension(tenant_id, user_id) if settings.webrtc else None
    if ext is None:
        return {"enabled": False}
    from urllib.parse import urlsplit
    domain = urlsplit(settings.wss_url).hostname or "127.0.0.1"
    user = ext.user
    name = f"{user.first_name} {user.last_name}".strip() or user.username
    return {"enabled": True, "ws_url": settings.wss_url, "uri": f"sip:{ext.number}@{domain}",
            "user": ext.number, "password": ext.secret, "name": name, "number": ext.number}


def set_browser_phone(ext: Extension, on: bool, *, actor=None, ip: str = "") -> bool:
    """Make the tenant's extension a browser phone or a SIP phone again (the caller then
    renders the endpoints: voxcast.runtime.pjsip_sync). Returns whether it changed."""
    from voxcast.audit import records as audit
    on = bool(on)
    if ext.browser_phone == on:
        return False
    Extension.update(browser_phone=on).where(Extension.id == ext.id,
                                             Extension.tenant == ext.tenant_id).execute()
    ext.browser_phone = on
    audit.record("extension.browser_phone", tenant_id=ext.tenant_id, user=actor,
                 object_type="extension", object_id=ext.id,
                 detail=f"{ext.number}: {'browser phone' if on else 'SIP phone'}", ip=ip)
    return True
