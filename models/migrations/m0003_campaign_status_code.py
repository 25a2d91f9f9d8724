"""Why a campaign is paused becomes a code plus params (voxcast.campaigns.lifecycle). Reasons
written before, as English sentences, are mapped to their codes, so a campaign paused for lack
of credit before the upgrade still resumes by itself after a top-up."""
from __future__ import annotations

import json

from ..entities import Campaign

ADDS = [(Campaign, "status_code"), (Campaign, "status_params")]
KNOWN = {"Paused: no credit left — top up to resume": "no_credit",
         "Account suspended": "tenant_suspended"}


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)
    rows = (Campaign.select(Campaign.id, Campaign.status_reason)
            .where(Campaign.status_reason != "", Campaign.status_code == ""))
    for row in list(rows):
        code = KNOWN.get(row.status_reason)
        params = {} if code else {"text": row.status_reason}
        (Campaign.update(status_code=code or "text", status_params=json.dumps(params))
         .where(Campaign.id == row.id).execute())


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
