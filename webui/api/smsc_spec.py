"""The OpenAPI part of /api/v1/smsc-connections (webui/api/smsc.py), merged into the document
by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.messaging.sms.schemas import SMSC_CREATE, SMSC_FIELDS, SMSC_UPDATE
from voxcast.schemas import DATETIME, ID, STRING, out

from .spec import PAGING, WRITE, op, page_of, path_id, ref


def schemas() -> dict:
    fields = {k: v for k, v in SMSC_FIELDS.items() if k != "password"}
    return {"SmscConnection": out({
        "id": ID, **fields,
        "bind": out({"state": {"type": "string",
                               "enum": ["bound", "connecting", "down", "disabled", "unknown"]},
                     "error": STRING, "since": STRING}),
        "created_at": DATETIME})}


def paths() -> dict:
    tag = "SMS"
    return {
        "/smsc-connections": {
            "get": op("List the SMSC connections (provider key only) with their bind status",
                      "One page", page_of("SmscConnection"), tag=tag, params=PAGING),
            "post": op("Add an SMSC connection (SMPP 3.4 transceiver account); the messaging "
                       "service binds to it within seconds when enabled", "Created",
                       ref("SmscConnection"), status="201", request=SMSC_CREATE, tag=tag,
                       errors=WRITE),
        },
        "/smsc-connections/{id}": {
            "parameters": [path_id()],
            "get": op("One SMSC connection", "The connection", ref("SmscConnection"), tag=tag),
            "patch": op("Change an SMSC connection (enabled false: the bind is closed, its "
                        "queued messages rejected)", "Changed", ref("SmscConnection"),
                        request=SMSC_UPDATE, tag=tag, errors=WRITE),
        },
    }
