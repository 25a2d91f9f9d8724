"""Which node's ARI an agent's console command goes to (voxcast.console.commands.send).

In a cluster a tenant's contact centre runs on its home node (Kamailio hashes its phones and
DIDs by tenant), but the web may run anywhere: it must post to the node that has the agent,
and only that one, since each node's Asterisk hands a user event to its own app only.
- A command about the agent's call: the node of that call, as its CDR records it.
- A manual dial: the live node whose Asterisk has the agent's phone registered now, asked of
  each live node's ARI (GET /endpoints/PJSIP/<extension>): Asterisk's own view, exact at
  that moment, with nothing written per registration.
- Otherwise (one node, no node row, the phone registered nowhere): the web's own ARI
  (settings.ari_url), as on a single node.
Every node publishes its ARI in its Node row (VOXCAST_NODE_ARI); the nodes and the web share
one ARI password in a cluster (VOXCAST_ARI_PASSWORD)."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

from models.entities import AgentSession, Call, Extension
from voxcast.cluster import nodes

PROBE_TIMEOUT_S = 1.0


def phone_online(settings, ari_url: str, extension: str) -> bool:
    """Is the extension's PJSIP endpoint online (registered) on the Asterisk at ari_url?"""
    path = urllib.parse.quote(f"/endpoints/PJSIP/{extension}")
    req = urllib.request.Request(f"{ari_url}{path}")
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=PROBE_TIMEOUT_S) as resp:
            return json.loads(resp.read()).get("state") == "online"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ari_for(settings, variables: dict[str, str],
            online: Callable[[str, str], bool] | None = None) -> str:
    """The ARI base URL the command `variables` (commands.prepare's) must be posted to.
    `online(ari_url, extension)` defaults to asking that node's Asterisk."""
    live = nodes.ari_urls(stale_s=getattr(settings, "node_stale_s", nodes.STALE_S))
    if not live:
        return settings.ari_url
    call_id = variables.get("call_id", "")
    if call_id.isdigit():
        row = Call.get_or_none(Call.id == int(call_id))
        if row is not None and row.node in live:
            return live[row.node]
    session_id = variables.get("session_id", "")
    session = (AgentSession.get_or_none(AgentSession.id == int(session_id))
               if session_id.isdigit() else None)
    extension = (Extension.get_or_none(Extension.id == session.extension_id)
                 if session is not None and session.extension_id else None)
    if extension is not None:
        online = online or (lambda url, ext: phone_online(settings, url, ext))
        for url in live.values():  # by node name: the same node when two claim it
            if online(url, extension.number):
                return url
    return settings.ari_url
