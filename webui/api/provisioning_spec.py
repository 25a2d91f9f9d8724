"""The OpenAPI part of provisioning (webui/api/provisioning.py): packages, a tenant's
subscription and its lifecycle (suspend, unsuspend, terminate, package change, password,
renew), payments and top-ups, usage, single sign-on; and the Idempotency-Key header that every
write of /api/v1 accepts (webui/api/idempotent.py). Merged by webui.api.spec.build()."""
from __future__ import annotations

from models.entities import BILLING_MODELS, FEATURES, PERIOD_MONTHS
from voxcast.schemas import (DATETIME, DATETIME_NULL, DECIMAL, ID, LONG_TEXT, NULLABLE_ID,
                             PASSWORD, STRING, obj, out)
from voxcast.tenants.schemas import TENANT_CREATE

from .spec import WRITE, json_content, op, path_id, query, ref

INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0, "maximum": 100_000_000}
DAYS = {"type": "integer", "minimum": 0, "maximum": 3650}
MONEY = {"type": "string", "example": "29.0000"}
NOTIFY = ("credentials", "activation", "none")
SUSPEND_REASONS = ("provider", "unpaid")
PAYMENT_KINDS = ("payment", "topup", "refund")
EXTERNAL_ID = {"type": "string", "maxLength": 100,
               "description": "The billing front end's id of the service (WHMCS: "
                              "whmcs-<serviceid>); GET /tenants?external_id= finds it."}

# -- request bodies -------------------------------------------------------------------------
PACKAGE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": {"type": "string", "maxLength": 2000},
    "billing_model": {"type": "string", "enum": list(BILLING_MODELS),
                      "description": "payg (no period), subscription, usage (included "
                                     "minutes / messages / pages / e-mails per period), topup "
                                     "(credits topup_amount; not subscribable)"},
    "period": {"type": "string", "enum": list(PERIOD_MONTHS)},
    "price": {**DECIMAL, "description": "Per period; what the front end invoices."},
    "setup_fee": DECIMAL,
    "rate_plan_id": NULLABLE_ID,
    "channel_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "max_users": COUNT, "max_agents": COUNT, "max_campaigns": COUNT, "max_contacts": COUNT,
    "disk_quota_mb": COUNT,
    "features": {"type": "array", "uniqueItems": True,
                 "items": {"type": "string", "enum": list(FEATURES)}},
    "free_credit": {**DECIMAL, "description": "Free credit granted each period."},
    "free_minutes": COUNT,
    "free_rollover": {"type": "string", "enum": ["keep", "reset"],
                      "description": "At renewal: keep what is left of the free credit / "
                                     "minutes, or reset it."},
    "included_minutes": COUNT, "included_messages": COUNT, "included_pages": COUNT,
    "included_emails": COUNT,
    "topup_amount": DECIMAL,
    "grace_days": {**DAYS, "description": "Unpaid past the period's end: suspended after."},
    "terminate_days": {**DAYS, "description": "Unpaid past the period's end: deleted after."},
    "downgrade_policy": {"type": "string", "enum": ["refuse", "next_renewal"]},
    "active": {"type": "boolean", "description": "Inactive: kept for subscribers, not sold."},
}
PACKAGE_CREATE = obj(PACKAGE_FIELDS, ["name"])
PACKAGE_UPDATE = obj(PACKAGE_FIELDS, update=True)
TENANT_PROVISION = obj({
    **TENANT_CREATE["properties"],
    "admin_password": {**PASSWORD, "description": "Required unless notify is activation."},
    "package_id": {**NULLABLE_ID, "description": "Subscribe the new tenant to this package: "
                                                 "its plan, limits and features, first period."},
    "external_id": EXTERNAL_ID,
    "notify": {"type": "string", "enum": list(NOTIFY), "default": "credentials",
               "description": "E-mail the admin the login (credentials), a link to choose "
                              "the password (activation), or nothing."},
}, [name for name in TENANT_CREATE["required"] if name != "admin_password"])
SUSPEND = obj({"reason": {"type": "string", "enum": list(SUSPEND_REASONS), "default": "provider",
                          "description": "unpaid: renewing lifts it; provider: only unsuspend "
                                         "does."}})
PACKAGE_CHANGE = obj({
    "package_id": ID,
    "when": {"type": "string", "enum": ["now", "next_renewal"], "nullable": True,
             "description": "Default: upgrades now, downgrades as the package's "
                            "downgrade_policy says."}}, ["package_id"])
PASSWORD_CHANGE = obj({
    "password": PASSWORD,
    "username": {"type": "string", "minLength": 1, "maxLength": 150,
                 "description": "A user of the tenant; default its first admin."}},
    ["password"])
RENEW = obj({
    "reference": {**LONG_TEXT, "description": "The front end's invoice or payment."},
    "charge_balance": {"type": "boolean", "default": False,
                       "description": "Charge the price from the prepaid balance (402 when "
                                      "it does not cover it)."}})
PAYMENT = obj({"amount": DECIMAL, "reference": LONG_TEXT,
               "kind": {"type": "string", "enum": list(PAYMENT_KINDS), "default": "payment"}},
              ["amount", "reference"])
TOPUP = obj({"package_id": {**ID, "description": "A package of billing model topup."},
             "reference": LONG_TEXT}, ["package_id"])
SSO = obj({"username": {"type": "string", "minLength": 1, "maxLength": 150,
                        "description": "A user of the tenant; default its first admin."}})


# -- answers --------------------------------------------------------------------------------
def schemas() -> dict:
    package = {"id": ID, **{k: v for k, v in PACKAGE_FIELDS.items()}, "created_at": DATETIME,
               "subscribers": {**INT, "description": "Tenants on it."}}
    for name in ("price", "setup_fee", "free_credit", "topup_amount"):
        package[name] = MONEY
    package["rate_plan_id"] = NULLABLE_ID
    subscription = {
        "id": ID, "tenant_id": ID, "package_id": ID, "package": STRING,
        "billing_model": {"type": "string", "enum": list(BILLING_MODELS)},
        "period": {"type": "string", "enum": list(PERIOD_MONTHS)},
        "status": {"type": "string", "enum": ["active", "suspended", "terminated"]},
        "period_start": DATETIME, "period_end": DATETIME,
        "pending_package_id": {**NULLABLE_ID, "description": "Applied at the next renewal."},
        "suspended_at": DATETIME_NULL,
        "suspended_reason": {"type": "string", "enum": list(SUSPEND_REASONS),
                             "nullable": True},
        "external_id": STRING, "created_at": DATETIME}
    from .spec import SCHEMAS
    tenant = SCHEMAS["Tenant"]
    return {
        "Package": out(package),
        "Subscription": out(subscription),
        "ProvisionedTenant": {**tenant, "properties": {
            **tenant["properties"],
            "subscription": {"allOf": [ref("Subscription")], "nullable": True}},
            "required": [*tenant["required"], "subscription"]},
        "CreatedTenant": {**tenant, "properties": {
            **tenant["properties"],
            "subscription": {"allOf": [ref("Subscription")], "nullable": True},
            "mail_error": {**STRING, "description": "Why the login e-mail could not be sent "
                                                    "(the tenant exists); empty when sent."}},
            "required": [*tenant["required"], "subscription", "mail_error"]},
        "PackageChange": out({"subscription": ref("Subscription"),
                              "applied": {"type": "boolean",
                                          "description": "false: pending until renewal"},
                              "effective_at": DATETIME}),
        "PasswordChanged": out({"tenant_id": ID, "user_id": ID, "username": STRING}),
        "Terminated": out({"id": ID, "terminated": {"type": "boolean", "enum": [True]}}),
        "Usage": out({
            "tenant_id": ID,
            "from": {**DATETIME, "description": "UTC, inclusive (local midnight of `from`)"},
            "to": {**DATETIME, "description": "UTC, exclusive"},
            "calls": {**INT, "description": "calls started in the period"},
            "seconds": {**INT, "description": "their billed seconds"},
            "minutes": {**INT, "description": "billed seconds / 60, rounded up once"},
            "sms_messages": {**INT, "description": "outbound SMS charged"},
            "sms_parts": {**INT, "description": "their segments"},
            "fax_pages": {**INT, "description": "pages of outbound faxes charged"},
            "emails": {**INT, "description": "outbound e-mails charged"},
            "disk_bytes": {**INT, "description": "stored now"},
            "disk_mb": {"type": "number"},
            "cost": {"type": "object", "additionalProperties": MONEY,
                     "description": "paid per ledger kind in the period (call, sms, fax, "
                                    "email, did_fee, subscription, setup_fee, ...)"},
            "included_left": {"type": "object", "additionalProperties": INT,
                              "description": "free / included units open now: minutes, "
                                             "sms, fax, email"}}),
        "SsoLink": out({"url": {**STRING, "description": "Open once, within expires_at."},
                        "expires_at": DATETIME}),
    }


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string per intended write (e.g. a UUID). Sent again with the "
                   "same method, path and body it returns the first answer (header "
                   "Idempotent-Replayed: true) without doing the work again; with another "
                   "request 422 idempotency-key-reused; while the first still runs 409 "
                   "idempotency-in-progress. Kept 7 days per API key; a 5xx answer frees it."}
IDEMPOTENCY_ERRORS = {
    "409": "Conflicts with the current state, or a request with this Idempotency-Key is "
           "still running (idempotency-in-progress).",
    "422": "The body did not validate (`fields` says why), or the Idempotency-Key was used "
           "for another request (idempotency-key-reused).",
}
WRITE_METHODS = ("post", "put", "patch", "delete")


def add_idempotency(paths: dict) -> None:
    """Document the Idempotency-Key header (and its refusals) on every write."""
    for item in paths.values():
        for method in WRITE_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            params = operation.setdefault("parameters", [])
            if IDEMPOTENCY_KEY not in params:
                params.append(dict(IDEMPOTENCY_KEY))
            responses = operation["responses"]
            for code, text in IDEMPOTENCY_ERRORS.items():
                responses[code] = {"description": text, "content": json_content(ref("Error"))}
            responses.setdefault("400", {"description": "Malformed request, or an "
                                         "Idempotency-Key longer than 255 characters.",
                                         "content": json_content(ref("Error"))})


def paths() -> dict:
    admin = " (provider key only)"
    tag = "Provisioning"
    tid = {"parameters": [path_id()]}
    page = out({"items": {"type": "array", "items": ref("Package")}, "page": INT,
                "per_page": INT, "total": INT})
    ledger_page = out({"items": {"type": "array", "items": ref("LedgerEntry")}, "page": INT,
                       "per_page": INT, "total": INT})
    period = (query("from", {"type": "string", "format": "date"},
                    "First day (YYYY-MM-DD, the tenant's zone); with `to`. Default: the "
                    "running subscription period (the one containing today, also when renewed "
                    "ahead), else this month so far."),
              query("to", {"type": "string", "format": "date"}, "Last day, inclusive."))
    tenant_list = op("List tenants" + admin, "One page", out({
        "items": {"type": "array", "items": ref("ProvisionedTenant")}, "page": INT,
        "per_page": INT, "total": INT}), tag="Tenants", params=(
        query("page", {"type": "integer", "minimum": 1}),
        query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
        query("external_id", {"type": "string", "maxLength": 100},
              "Only the tenant whose subscription has this external_id.")))
    found = {
        "/packages": {
            "get": op("List packages" + admin, "One page", page, tag=tag, params=(
                query("page", {"type": "integer", "minimum": 1}),
                query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
                query("active", {"type": "boolean"}, "true: only packages on sale."))),
            "post": op("Create a package" + admin, "Created", ref("Package"), status="201",
                       request=PACKAGE_CREATE, tag=tag, errors=WRITE)},
        "/packages/{id}": {
            "parameters": [path_id()],
            "get": op("Get a package" + admin, "The package", ref("Package"), tag=tag),
            "patch": op("Change a package (subscribers get the new limits at their next "
                        "renewal or package change)" + admin, "The package", ref("Package"),
                        request=PACKAGE_UPDATE, tag=tag, errors=WRITE),
            "delete": op("Delete a package nobody subscribes to (409 otherwise: deactivate "
                         "it)" + admin, "Deleted", status="204", tag=tag,
                         errors=("400", "401", "403", "404", "409"))},
        "/tenants": {
            "get": tenant_list,
            "post": op("Create a tenant and its admin; with package_id subscribe it, and "
                       "e-mail the login as notify says" + admin, "Created",
                       ref("CreatedTenant"), status="201", request=TENANT_PROVISION,
                       tag="Tenants", errors=WRITE)},
        "/tenants/{id}/subscription": {**tid, "get": op(
            "The tenant's subscription (404 no-subscription)" + admin, "The subscription",
            ref("Subscription"), tag=tag)},
        "/tenants/{id}/suspend": {**tid, "post": op(
            "Suspend: logins and keys refused, campaigns paused, live calls ended (body "
            "optional)" + admin, "The tenant", ref("ProvisionedTenant"), request=SUSPEND,
            tag="Tenants", errors=WRITE)},
        "/tenants/{id}/unsuspend": {**tid, "post": op(
            "Lift a suspension (either reason)" + admin, "The tenant",
            ref("ProvisionedTenant"), tag="Tenants", errors=WRITE)},
        "/tenants/{id}/enable": {**tid, "post": op(
            "The older name of unsuspend" + admin, "The tenant", ref("ProvisionedTenant"),
            tag="Tenants", errors=WRITE)},
        "/tenants/{id}/terminate": {**tid, "post": op(
            "Delete the tenant and all its data now" + admin, "Terminated", ref("Terminated"),
            tag="Tenants", errors=WRITE)},
        "/tenants/{id}/package": {**tid, "post": op(
            "Change the package (upgrade now; a downgrade below current usage is refused "
            "409 downgrade-refused with `fields` per limit, or pending)" + admin,
            "The change", ref("PackageChange"), request=PACKAGE_CHANGE, tag=tag,
            errors=WRITE)},
        "/tenants/{id}/password": {**tid, "post": op(
            "Set a user's password (default the first admin); their sessions end" + admin,
            "Changed", ref("PasswordChanged"), request=PASSWORD_CHANGE, tag="Tenants",
            errors=WRITE)},
        "/tenants/{id}/renew": {**tid, "post": op(
            "Renew for one period (once per period: a repeat does not extend again); lifts "
            "a suspension for non-payment (body optional)" + admin, "The subscription",
            ref("Subscription"), request=RENEW, tag=tag,
            errors=WRITE, extra={"402": {"description": "charge_balance: not enough credit",
                                         "content": json_content(ref("Error"))}})},
        "/tenants/{id}/payments": {
            **tid,
            "get": op("The tenant's payments, top-ups and refunds, newest first" + admin,
                      "One page", ledger_page, tag=tag, params=(
                          query("page", {"type": "integer", "minimum": 1}),
                          query("per_page", {"type": "integer", "minimum": 1,
                                             "maximum": 200}))),
            "post": op("Record a payment: credits the balance (ledger)" + admin, "Created",
                       ref("LedgerEntry"), status="201", request=PAYMENT, tag=tag,
                       errors=WRITE)},
        "/tenants/{id}/topups": {**tid, "post": op(
            "Buy a top-up package: credits its topup_amount" + admin, "Created",
            ref("LedgerEntry"), status="201", request=TOPUP, tag=tag, errors=WRITE)},
        "/tenants/{id}/usage": {**tid, "get": op(
            "Usage of a period: minutes, messages, fax pages, e-mails, disk" + admin,
            "The usage", ref("Usage"), tag=tag, params=period)},
        "/tenants/{id}/sso": {**tid, "post": op(
            "A one-use login link for a user of the tenant (default its first admin), valid "
            "2 minutes (body optional)" + admin, "The link", ref("SsoLink"), request=SSO,
            tag=tag, errors=WRITE)},
        "/subscription": {"get": op("The key's tenant's own subscription (tenant key)",
                                    "The subscription", ref("Subscription"), tag=tag)},
        "/usage": {"get": op("The key's tenant's own usage (tenant key)", "The usage",
                             ref("Usage"), tag=tag, params=period)},
    }
    for path in ("/tenants/{id}/suspend", "/tenants/{id}/renew", "/tenants/{id}/sso"):
        found[path]["post"]["requestBody"]["required"] = False  # an empty POST is {}
    return found
