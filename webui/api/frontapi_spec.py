"""The OpenAPI part of the front-end resources (webui/api/frontapi.py): the ledger and the
balance, rate plans and rates, quotas with usage, features, the account's timeslots and a
campaign's message audio; their request schemas (the resource validates against these) and
paths, merged into the document by webui.api.spec.build()."""
from __future__ import annotations

from models.entities import FEATURES, LEDGER_KINDS
from voxcast.schemas import DATETIME, DATETIME_NULL, ID, NULLABLE_ID, STRING, obj, out
from voxcast.tenants.quotas import QUOTAS
from voxcast.tenants.services import QUOTA_FIELDS

from .spec import (ERRORS, PAGING, TENANT_FILTER, WRITE, json_content, op, page_of, path_id,
                   query, ref)

INT = {"type": "integer"}
BOOL = {"type": "boolean"}
MONEY = {"type": "string", "example": "12.5000"}
PRICE = {"type": "string", "example": "0.012000", "description": "six decimals"}
TAG_BILLING, TAG_PLAN = "Billing", "Plans and quotas"
HH_MM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
         "x-pattern-message": "a time HH:MM"}

# -- request schemas ------------------------------------------------------------------------
FEATURES_UPDATE = obj({"features": {
    "type": "array", "uniqueItems": True, "maxItems": len(FEATURES),
    "items": {"type": "string", "enum": list(FEATURES)},
    "description": "Every feature the tenant has afterwards (the others are off)."}},
    ["features"])
QUOTAS_UPDATE = obj({name: {"type": "integer", "minimum": 1 if name == "channel_limit" else 0,
                            "maximum": 100_000_000}
                     for name in QUOTA_FIELDS}, update=True)
TIMESLOT_CREATE = obj({
    "name": {"type": "string", "maxLength": 100},
    "weekdays": {"type": "string", "pattern": "^[0-6]{1,7}$",
                 "x-pattern-message": "digits 0 (Monday) to 6 (Sunday)",
                 "description": "Days, Monday=0: \"01234\" is Monday to Friday."},
    "start": HH_MM, "end": HH_MM}, ["weekdays", "start", "end"])


def schemas() -> dict:
    entry = {"id": ID, "tenant_id": ID, "kind": {"type": "string", "enum": list(LEDGER_KINDS)},
             "amount": {**MONEY, "description": "credits positive, charges negative"},
             "balance_after": MONEY,
             "free_money": {**MONEY, "description": "what free credit covered (or granted)"},
             "free_seconds": INT, "reference": STRING, "call_id": NULLABLE_ID,
             "message_ref": {"type": "string", "nullable": True}, "created_at": DATETIME}
    bucket = {"id": ID, "kind": {"type": "string", "enum": ["money", "minutes", "sms", "fax",
                                                            "email"]},
              "amount": MONEY, "granted_amount": MONEY, "seconds": INT, "granted_seconds": INT,
              "units": INT, "granted_units": INT, "source": STRING,
              "expires_at": DATETIME_NULL, "created_at": DATETIME}
    plan = {"id": ID, "name": STRING, "description": STRING, "is_default": BOOL,
            "sms_price": PRICE, "fax_page_price": PRICE, "email_price": PRICE,
            "inbound_per_minute": PRICE, "did_monthly_fee": MONEY,
            "version": {**INT, "description": "bumped on every change of the plan or a rate"}}
    rate = {"id": ID, "plan_id": ID, "prefix": {**STRING, "description": "digits, no +"},
            "description": STRING, "per_minute": PRICE, "connection_fee": PRICE,
            "initial_s": INT, "increment_s": INT}
    quota = {"kind": {"type": "string", "enum": list(QUOTAS)},
             "field": {**STRING, "description": "the name PATCH /tenants/{id}/quotas takes"},
             "label": STRING, "limit": INT,
             "used": {"type": "number", "description": "disk_mb with one decimal"},
             "percent": INT}
    return {
        "LedgerEntry": out(entry),
        "Balance": out({"tenant_id": ID, "balance": MONEY,
                        "available": {**MONEY, "description": "balance + free credit - open "
                                                              "reservations of live calls"},
                        "free_money": MONEY, "free_seconds": INT,
                        "low_balance_threshold": MONEY,
                        "buckets": {"type": "array", "items": out(bucket)}}),
        "RatePlan": out(plan),
        "Rate": out(rate),
        "Quotas": out({"tenant_id": ID, "items": {"type": "array", "items": out(quota)},
                       "rates": out({"sms_per_second": INT, "email_per_hour": INT})}),
        "Features": out({"tenant_id": ID,
                         "features": {"type": "array", "items": {"type": "string",
                                                                 "enum": list(FEATURES)}},
                         "items": {"type": "array", "items": out(
                             {"name": STRING, "label": STRING, "enabled": BOOL})}}),
        "Timeslot": out({"id": ID, "tenant_id": ID, "name": STRING,
                         "weekdays": STRING, "start": STRING, "end": STRING}),
    }


def paths() -> dict:
    admin = " (provider key only)"
    period = (query("start", {"type": "string", "format": "date"},
                    "First local day (YYYY-MM-DD); without start and end every day."),
              query("end", {"type": "string", "format": "date"}, "Last local day, inclusive."),
              query("zone", {"type": "string", "maxLength": 64},
                    "IANA time zone of the days; default the tenant's."))
    audio = {"schema": {"type": "string", "format": "binary"}}
    return {
        "/ledger": {"get": op(
            "The ledger, newest first: payments, top-ups, charges per call and message, fees, "
            "free credit (provider key: every tenant's, or tenant_id's)", "One page",
            page_of("LedgerEntry"), tag=TAG_BILLING, params=(
                *PAGING, TENANT_FILTER,
                query("kind", {"type": "string", "maxLength": 200},
                      "Comma-separated kinds: " + ", ".join(LEDGER_KINDS) + "."),
                query("payments", BOOL, "true: the credits only (opening, payment, top-up, "
                                        "refund, adjustment)."),
                *period))},
        "/balance": {"get": op(
            "The balance, what can be spent now and the open free credit, minutes and "
            "included units (provider key: name a tenant_id)", "The balance", ref("Balance"),
            tag=TAG_BILLING, params=(TENANT_FILTER,))},
        "/plans": {"get": op(
            "Rate plans: the provider's key every one (with tenant_id: that tenant's); a "
            "tenant key its own plan only", "One page", page_of("RatePlan"), tag=TAG_PLAN,
            params=(*PAGING, TENANT_FILTER))},
        "/plans/{id}": {"parameters": [path_id()], "get": op(
            "A rate plan (a tenant key: only its own; another is 404)", "The plan",
            ref("RatePlan"), tag=TAG_PLAN)},
        "/plans/{id}/rates": {"parameters": [path_id()], "get": op(
            "A plan's destination rates by prefix (the longest matching prefix prices a "
            "call)", "One page", page_of("Rate"), tag=TAG_PLAN, params=(
                *PAGING, query("q", {"type": "string", "maxLength": 64},
                               "A prefix (digits) or part of the description.")))},
        "/quotas": {"get": op(
            "Each limit (users, agents, campaigns, contacts, channels, disk MB) with the "
            "current usage (provider key: name a tenant_id)", "The quotas", ref("Quotas"),
            tag=TAG_PLAN, params=(TENANT_FILTER,))},
        "/features": {"get": op(
            "The feature permissions, each with its label and whether it is on (provider "
            "key: name a tenant_id)", "The features", ref("Features"), tag=TAG_PLAN,
            params=(TENANT_FILTER,))},
        "/tenants/{id}/features": {"parameters": [path_id()], "patch": op(
            "Set a tenant's features (the list is the whole set afterwards)" + admin,
            "The features", ref("Features"), request=FEATURES_UPDATE, tag=TAG_PLAN,
            errors=WRITE)},
        "/tenants/{id}/quotas": {"parameters": [path_id()], "patch": op(
            "Change some of a tenant's limits (the others stay)" + admin, "The quotas",
            ref("Quotas"), request=QUOTAS_UPDATE, tag=TAG_PLAN, errors=WRITE)},
        "/timeslots": {"get": op(
            "The account's calling hours, in its time zone (campaigns without windows of "
            "their own dial only within them; none: any time; provider key: name a "
            "tenant_id)", "The timeslots",
            out({"items": {"type": "array", "items": ref("Timeslot")}}), tag=TAG_PLAN,
            params=(TENANT_FILTER,))},
        "/tenants/{id}/timeslots": {"parameters": [path_id()], "post": op(
            "Add a calling-hours timeslot to a tenant" + admin, "Created", ref("Timeslot"),
            status="201", request=TIMESLOT_CREATE, tag=TAG_PLAN, errors=WRITE)},
        "/tenants/{id}/timeslots/{slot_id}": {
            "parameters": [path_id(), path_id("slot_id")], "delete": op(
                "Remove a tenant's timeslot" + admin, "Deleted", status="204", tag=TAG_PLAN)},
        "/campaigns/{id}/message": {"parameters": [path_id()], "put": {
            **op("Upload the audio a voice campaign plays (WAV, MP3, ... converted as in the "
                 "portal); the body is the file, or a multipart form with a `file` part. Text "
                 "to speak instead: PATCH /campaigns/{id} with message_text", "The campaign",
                 ref("Campaign"), tag="Campaigns", errors=("400", "401", "403", "404", "422"),
                 extra={"413": {"description": "Larger than 20 MB.",
                                "content": json_content(ref("Error"))}}),
            "requestBody": {"required": True, "content": {
                "audio/*": audio, "application/octet-stream": audio,
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}}}},
    }


__all__ = ["ERRORS", "FEATURES_UPDATE", "QUOTAS_UPDATE", "TIMESLOT_CREATE", "paths",
           "schemas"]
