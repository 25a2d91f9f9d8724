"""The OpenAPI part of /api/v1/email-dnc (webui/api/email_dnc.py), merged into the document
by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.messaging.email.dnc import SOURCES
from voxcast.messaging.email.schemas import EMAIL_DNC_CREATE
from voxcast.schemas import DATETIME, ID, STRING, out

from .spec import PAGING, TENANT_FILTER, WRITE, op, page_of, path_id, query, ref


def schemas() -> dict:
    return {"EmailDnc": out({"id": ID, "tenant_id": ID, "address": STRING,
                             "source": {"type": "string", "enum": list(SOURCES)},
                             "created_at": DATETIME})}


def paths() -> dict:
    tag = "E-mail DNC"
    return {
        "/email-dnc": {
            "get": op("List the tenant's e-mail do-not-contact list (unsubscribed, bounced and "
                      "added addresses; e-mail campaigns never write to them)", "One page",
                      page_of("EmailDnc"), tag=tag, params=(
                          *PAGING, TENANT_FILTER,
                          query("q", {"type": "string", "maxLength": 254},
                                "Only addresses containing this text."))),
            "post": op("Add an address (the provider's key names the tenant with tenant_id)",
                       "Added", ref("EmailDnc"), status="201", request=EMAIL_DNC_CREATE,
                       tag=tag, errors=WRITE),
        },
        "/email-dnc/{id}": {"parameters": [path_id()], "delete": op(
            "Remove an address: campaigns may write to it again", "Removed", status="204",
            tag=tag)},
    }
