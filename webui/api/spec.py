"""The OpenAPI 3.0 document of /api/v1, as Python data beside the resources.

Request-body schemas here are also what the resources validate against (webui.api.body), so
the published document and the server's checks are one definition."""
from __future__ import annotations

import copy

MAX_ID = 2**31 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NULLABLE_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True}
TEXT = {"type": "string", "maxLength": 100}
LONG_TEXT = {"type": "string", "maxLength": 255}
EMAIL = {"type": "string", "maxLength": 254, "format": "email"}
DECIMAL = {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,4})?$",
           "x-pattern-message": "must be a decimal number like 12.50", "example": "25.00"}
TIMEZONE = {"type": "string", "maxLength": 64, "example": "Europe/Berlin",
            "description": "An IANA time zone name."}
LANGUAGE = {"type": "string", "enum": ["en", "de"]}
COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$", "example": "US",
           "x-pattern-message": "must be an ISO 3166 two-letter country code like US",
           "description": "ISO 3166 alpha-2; numbers without + are read as this country's."}
PHONE_IN = {"type": "string", "minLength": 1, "maxLength": 40, "example": "+14155550123",
            "description": "Any common notation; stored in E.164 form."}
DATETIME = {"type": "string", "format": "date-time"}
STRING = {"type": "string"}
DATETIME_NULL = {"type": "string", "format": "date-time", "nullable": True}

ROLES = ["user", "supervisor", "agent"]
USERNAME = {"type": "string", "minLength": 3, "maxLength": 64,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$",
            "x-pattern-message": "3 to 64 letters, digits and . _ @ - (starting with a letter or digit)"}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 500}
PIN = {"type": "string", "pattern": "^[0-9]{4,8}$", "x-pattern-message": "4 to 8 digits"}
CUSTOM = {f"custom{i}": LONG_TEXT for i in range(1, 9)}


def obj(properties: dict, required=(), *, update: bool = False) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if update:
        schema["minProperties"] = 1
    return schema


def out(properties: dict) -> dict:
    """A response object: every property is always present."""
    return {"type": "object", "properties": properties, "required": list(properties)}


# --- request bodies (validated by the resources) -------------------------------------------
TENANT_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "country": COUNTRY,
    "timezone": TIMEZONE,
    "language": LANGUAGE,
    "email": EMAIL,
    "channel_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "allowed_caller_ids": {"type": "array", "maxItems": 100,
                           "items": {"type": "string", "maxLength": 30},
                           "description": "Numbers besides its own DIDs that the tenant's "
                                          "campaigns may show as caller ID (E.164)."},
}
TENANT_CREATE = obj({
    **TENANT_FIELDS,
    "balance": DECIMAL,
    "slug": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
             "x-pattern-message": "lower-case letters, digits and - (not at either end)",
             "description": "Short id and sub-domain, e.g. acme."},
    "admin_username": USERNAME,
    "admin_password": PASSWORD,
    "admin_email": EMAIL,
}, ["name", "slug", "admin_username", "admin_password", "admin_email"])
TENANT_UPDATE = obj(TENANT_FIELDS, update=True)

USER_FIELDS = {
    "role": {"type": "string", "enum": ROLES},
    "password": PASSWORD,
    "pin": PIN,
    "email": EMAIL,
    "first_name": TEXT,
    "last_name": TEXT,
    "phone": {"type": "string", "maxLength": 40},
    "timezone": {**TIMEZONE, "description": "Empty: the tenant's."},
    "language": {"type": "string", "enum": ["", "en", "de"]},
    "active": {"type": "boolean"},
}
USER_CREATE = obj({**USER_FIELDS, "username": USERNAME, "tenant_id": {
    **ID, "description": "Only with the provider's key: the tenant to create the user in."}},
    ["username", "password", "pin"])
USER_UPDATE = obj(USER_FIELDS, update=True)

EXTENSION_CREATE = obj({
    "number": {"type": "string", "pattern": "^[0-9]{2,10}$", "x-pattern-message": "2 to 10 digits",
               "description": "The SIP password is generated."}}, ["number"])
EXTENSION_ALLOCATE = obj({"tenant_id": ID, "count": {"type": "integer", "minimum": 1,
                                                     "maximum": 1000}}, ["tenant_id", "count"])
ASSIGN_USER = obj({"user_id": NULLABLE_ID}, ["user_id"])
ALLOCATE = obj({"tenant_id": {**NULLABLE_ID, "description": "null returns it to the pool."}},
               ["tenant_id"])

DID_CREATE = obj({
    "number": {"type": "string", "pattern": r"^\+?[0-9]{3,20}$",
               "x-pattern-message": "digits only, optionally starting with +"},
    "tenant_id": NULLABLE_ID,
    "greeting_text": {"type": "string", "maxLength": 2000},
}, ["number"])
DID_UPDATE = obj({"user_id": NULLABLE_ID, "campaign_id": NULLABLE_ID,
                  "greeting_text": {"type": "string", "maxLength": 2000}}, update=True)

GROUP_CREATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "tenant_id": {**ID, "description": "Only with the provider's key."}}, ["name"])
GROUP_UPDATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}}, ["name"])
CONTACT_FIELDS = {"phone": PHONE_IN, "first_name": TEXT, "last_name": TEXT, "email": EMAIL,
                  **CUSTOM}
CONTACT_CREATE = obj(CONTACT_FIELDS, ["phone"])
CONTACT_UPDATE = obj(CONTACT_FIELDS, update=True)
BULK_MAX = 5000
CONTACT_BULK = {"type": "array", "minItems": 1, "maxItems": BULK_MAX, "items": CONTACT_CREATE}

DNC_CREATE = obj({"phone": PHONE_IN,
                  "tenant_id": {**ID, "description": "Only with the provider's key: add to this "
                                "tenant's list instead of the provider-wide one."}}, ["phone"])

CAMPAIGN_TYPES = ["voice_message", "voice_interactive", "voice_ivr", "voice_survey",
                  "appointment_reminder"]
FLOW = {"type": "object", "description": (
    "Type-specific settings. voice_interactive: {keys: {\"1\": \"transfer\", \"2\": \"opt_out\", "
    "\"3\": \"replay\"}, transfer: {kind: extension|number|agents, value}, timeout, no_input: "
    "hangup|replay}; voice_survey: {intro, questions: [{key, text, digits}], retries, timeout, "
    "closing}; appointment_reminder: {text with {first_name}/{custom1}.. placeholders, transfer, "
    "timeout, retries}; voice_message and voice_ivr: {}.")}
CAMPAIGN_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "type": {"type": "string", "enum": CAMPAIGN_TYPES},
    "group_id": ID,
    "ivr_id": {**NULLABLE_ID, "description": "The IVR a voice_ivr campaign runs."},
    "flow": FLOW,
    "repeat_count": {"type": "integer", "minimum": 1, "maximum": 10,
                     "description": "voice_message: how many times the message plays."},
    "message_text": {"type": "string", "maxLength": 2000,
                     "description": "The message, spoken by TTS (voice_message, voice_interactive)."},
    "caller_id": {"type": "string", "pattern": r"^(\+?[0-9]{2,20})?$",
                  "x-pattern-message": "digits only, optionally starting with +"},
    "channel_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "dial_timeout": {"type": "integer", "minimum": 5, "maximum": 120},
    "retry_busy": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_noanswer": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_failed": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_interval": {"type": "integer", "minimum": 30, "maximum": 86400},
    "retry_machine": {"type": "integer", "minimum": 0, "maximum": 10,
                      "description": "Retries when an answering machine answered (AMD)."},
    "amd_enabled": {"type": "boolean", "description": "Detect answering machines."},
    "amd_action": {"type": "string", "enum": ["hangup", "leave_message"]},
    "record": {"type": "boolean", "description": "Record answered calls."},
    "windows": {"type": "string", "maxLength": 500,
                "description": "Calling hours in the tenant's time zone, e.g. "
                               "\"Mon-Fri 09:00-17:00, Sat 10:00-13:00\"; empty: the "
                               "account's hours apply."},
}
CAMPAIGN_CREATE = obj({**CAMPAIGN_FIELDS, "tenant_id": {
    **ID, "description": "Only with the provider's key."}}, ["name", "group_id"])
CAMPAIGN_UPDATE = obj(CAMPAIGN_FIELDS, update=True)
IVR_TREE = {"type": "object", "description": (
    "{start: node id, nodes: {id: {type: play|say|menu|get_digits|branch|transfer|record|"
    "set_field|set_result|opt_out|hangup, ...}}}; checked on save (unknown or unreachable nodes, "
    "loops without input, missing parameters are refused with every reason).")}
IVR_CREATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}, "tree": IVR_TREE,
                  "tenant_id": {**ID, "description": "Only with the provider's key."}},
                 ["name", "tree"])
IVR_UPDATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}, "tree": IVR_TREE},
                 update=True)

# --- responses -------------------------------------------------------------------------------
SCHEMAS = {
    "Error": out({"error": out({
        "code": {"type": "string", "example": "validation"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Field name -> why it was refused."},
    })}),
    "Tenant": out({
        "id": ID, "name": STRING, "slug": STRING, "country": STRING, "timezone": STRING,
        "language": STRING, "email": STRING, "channel_limit": {"type": "integer"},
        "allowed_caller_ids": {"type": "array", "items": STRING},
        "balance": {"type": "string", "example": "25.0000"},
        "status": {"type": "string", "enum": ["active", "suspended"]},
        "features": {"type": "array", "items": STRING},
        "max_users": {"type": "integer"}, "max_agents": {"type": "integer"},
        "max_campaigns": {"type": "integer"}, "max_contacts": {"type": "integer"},
        "created_at": DATETIME,
    }),
    "User": out({
        "id": ID, "tenant_id": ID, "username": STRING, "role": STRING,
        "first_name": STRING, "last_name": STRING, "email": STRING, "phone": STRING,
        "timezone": STRING, "language": STRING, "active": {"type": "boolean"},
        "created_at": DATETIME,
    }),
    "Extension": out({
        "id": ID, "number": STRING, "secret": {"type": "string", "description": "SIP password"},
        "tenant_id": NULLABLE_ID, "user_id": NULLABLE_ID, "created_at": DATETIME,
    }),
    "Did": out({
        "id": ID, "number": STRING, "tenant_id": NULLABLE_ID, "user_id": NULLABLE_ID,
        "campaign_id": NULLABLE_ID, "greeting_text": STRING,
    }),
    "Group": out({"id": ID, "tenant_id": ID, "name": STRING,
                  "contacts": {"type": "integer", "minimum": 0}}),
    "Contact": out({"id": ID, "group_id": ID, "phone": STRING, "first_name": STRING,
                    "last_name": STRING, "email": STRING,
                    **{f"custom{i}": STRING for i in range(1, 9)}}),
    "BulkResult": out({
        "created": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
        "errors": {"type": "array", "items": out({
            "index": {"type": "integer", "minimum": 0}, "code": STRING, "message": STRING,
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}})},
    }),
    "Campaign": out({
        "id": ID, "tenant_id": ID, "name": STRING, "type": {"type": "string", "enum": CAMPAIGN_TYPES},
        "group_id": NULLABLE_ID, "ivr_id": NULLABLE_ID, "flow": {"type": "object"},
        "repeat_count": {"type": "integer"}, "message_text": STRING, "message_file": STRING,
        "caller_id": STRING, "channel_limit": {"type": "integer"},
        "dial_timeout": {"type": "integer"}, "retry_busy": {"type": "integer"},
        "retry_noanswer": {"type": "integer"}, "retry_failed": {"type": "integer"},
        "retry_interval": {"type": "integer"}, "retry_machine": {"type": "integer"},
        "amd_enabled": {"type": "boolean"}, "amd_action": STRING, "record": {"type": "boolean"},
        "windows": {"type": "string", "description": "Calling hours, as they are typed."},
        "status": {"type": "string", "enum": ["draft", "running", "paused", "completed", "stopped"]},
        "status_reason": STRING,
        "status_code": {"type": "string", "description": "why it is paused or waiting: "
                        "no_credit, tenant_suspended, type_not_dialable, message_missing, "
                        "ari_down, no_window, closed_until, not_recording, text (a reason "
                        "from before codes, in params.text); empty when none"},
        "status_params": {"type": "object", "description": "the cause's parameters"},
        "progress": {"type": "object", "additionalProperties": {"type": "integer"},
                     "description": "total, dialed, answered, ... and pressed1, opted_out, "
                                    "confirmed, cancelled, transferred, surveyed."},
        "created_at": DATETIME,
    }),
    "SurveyResults": out({"items": {"type": "array", "items": out({
        "key": STRING, "text": STRING, "total": {"type": "integer"},
        "digits": {"type": "array", "items": out({"digit": STRING,
                                                   "count": {"type": "integer"}})}})}}),
    "Ivr": out({"id": ID, "tenant_id": ID, "name": STRING, "tree": {"type": "object"},
                "created_at": DATETIME}),
    "Dnc": out({"id": ID, "tenant_id": NULLABLE_ID, "phone": STRING, "source": STRING,
                "created_at": DATETIME}),
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict:
    return out({"items": {"type": "array", "items": ref(name)}, "page": {"type": "integer"},
                "per_page": {"type": "integer"}, "total": {"type": "integer"}})


ERRORS = {
    "400": "Malformed request (not JSON, bad query parameter).",
    "401": "No API key, or an unknown or revoked one.",
    "403": "This key may not do this (tenant key on a provider resource, suspended tenant).",
    "404": "No such object for this key's tenant.",
    "409": "Conflicts with an existing object (duplicate name or number).",
    "422": "The body did not validate; `fields` says why per field.",
}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def op(summary: str, ok: str | None, ok_schema: dict | None = None, *, status: str = "200",
       request: dict | None = None, params=(), tag: str = "", errors=("400", "401", "403", "404"),
       extra: dict | None = None) -> dict:
    responses = {}
    if ok_schema is not None:
        responses[status] = {"description": ok, "content": json_content(ok_schema)}
    else:
        responses[status] = {"description": ok}
    for code in errors:
        responses[code] = {"description": ERRORS[code], "content": json_content(ref("Error"))}
    if extra:
        responses.update(extra)
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if request is not None:
        operation["requestBody"] = {"required": True, "content": json_content(request)}
    return operation


def path_id(name: str = "id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: dict, description: str = "") -> dict:
    p = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        p["description"] = description
    return p


PAGING = (query("page", {"type": "integer", "minimum": 1, "maximum": MAX_ID, "default": 1}),
          query("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}))
TENANT_FILTER = query("tenant_id", ID, "Only with the provider's key: limit to one tenant.")
WRITE = ("400", "401", "403", "404", "409", "422")


def crud(name: str, tag: str, create_schema, update_schema, *, list_params=(),
         update_method: str = "patch") -> tuple[dict, dict]:
    collection = {
        "get": op(f"List {tag.lower()}", "One page", page_of(name), tag=tag,
                  params=(*PAGING, *list_params)),
    }
    if create_schema is not None:
        collection["post"] = op(f"Create a {name.lower()}", "Created", ref(name), status="201",
                                request=create_schema, tag=tag, errors=WRITE)
    item = {
        "parameters": [path_id()],
        "get": op(f"Get a {name.lower()}", "The object", ref(name), tag=tag),
        "delete": op(f"Delete a {name.lower()}", "Deleted", status="204", tag=tag,
                     errors=("400", "401", "403", "404", "409")),
    }
    if update_schema is not None:
        item[update_method] = op(f"Change a {name.lower()}", "The changed object", ref(name),
                                 request=update_schema, tag=tag, errors=WRITE)
    return collection, item


def build() -> dict:
    tenants, tenant = crud("Tenant", "Tenants", TENANT_CREATE, TENANT_UPDATE)
    users, user = crud("User", "Users", USER_CREATE, USER_UPDATE, list_params=(TENANT_FILTER,))
    groups, group = crud("Group", "Contacts", GROUP_CREATE, GROUP_UPDATE,
                         list_params=(TENANT_FILTER,))
    _, contact = crud("Contact", "Contacts", None, CONTACT_UPDATE)
    campaigns, campaign = crud("Campaign", "Campaigns", CAMPAIGN_CREATE, CAMPAIGN_UPDATE,
                               list_params=(TENANT_FILTER,))
    del campaign["delete"]  # campaigns are stopped, not deleted: their CDRs stay
    ivrs, ivr = crud("Ivr", "IVRs", IVR_CREATE, IVR_UPDATE, list_params=(TENANT_FILTER,))
    admin = " (provider key only)"
    paths = {
        "/tenants": tenants,
        "/tenants/{id}": tenant,
        "/tenants/{id}/suspend": {"parameters": [path_id()], "post": op(
            "Suspend a tenant: its users and keys are refused" + admin, "The tenant",
            ref("Tenant"), tag="Tenants")},
        "/tenants/{id}/enable": {"parameters": [path_id()], "post": op(
            "Enable a suspended tenant" + admin, "The tenant", ref("Tenant"), tag="Tenants")},
        "/users": users,
        "/users/{id}": user,
        "/extensions": {
            "get": op("List extensions (the tenant's; with the provider key every one, or the "
                      "pool with tenant_id=0)", "One page", page_of("Extension"),
                      tag="Extensions", params=(*PAGING, query(
                          "tenant_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                          "Provider key: one tenant's, or 0 for the unallocated pool."))),
            "post": op("Create an extension in the pool" + admin, "Created", ref("Extension"),
                       status="201", request=EXTENSION_CREATE, tag="Extensions", errors=WRITE),
        },
        "/extensions/{id}": {
            "parameters": [path_id()],
            "get": op("Get an extension", "The extension", ref("Extension"), tag="Extensions"),
            "patch": op("Assign the extension to a user of its tenant, or unassign (null)",
                        "The extension", ref("Extension"), request=ASSIGN_USER,
                        tag="Extensions", errors=WRITE),
        },
        "/extensions/allocate": {"post": op(
            "Allocate the `count` lowest free extensions to a tenant (all or none)" + admin,
            "The allocated extensions", out({"items": {"type": "array",
                                                         "items": ref("Extension")}}),
            request=EXTENSION_ALLOCATE, tag="Extensions", errors=WRITE)},
        "/extensions/{id}/release": {"parameters": [path_id()], "post": op(
            "Return an allocated extension to the pool (new secret)" + admin, "The extension",
            ref("Extension"), tag="Extensions", errors=WRITE)},
        "/dids": {
            "get": op("List DIDs (the tenant's; with the provider key every one, or the pool "
                      "with tenant_id=0)", "One page", page_of("Did"), tag="DIDs",
                      params=(*PAGING, query(
                          "tenant_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                          "Provider key: one tenant's, or 0 for the unallocated pool."))),
            "post": op("Add a DID to the pool" + admin, "Created", ref("Did"), status="201",
                       request=DID_CREATE, tag="DIDs", errors=WRITE),
        },
        "/dids/{id}": {
            "parameters": [path_id()],
            "get": op("Get a DID", "The DID", ref("Did"), tag="DIDs"),
            "patch": op("Route the DID to a user or campaign; set its greeting", "The DID",
                        ref("Did"), request=DID_UPDATE, tag="DIDs", errors=WRITE),
        },
        "/dids/{id}/allocate": {"parameters": [path_id()], "post": op(
            "Allocate to a tenant, or return to the pool (null)" + admin, "The DID", ref("Did"),
            request=ALLOCATE, tag="DIDs", errors=WRITE)},
        "/groups": groups,
        "/groups/{id}": group,
        "/groups/{id}/contacts": {
            "parameters": [path_id()],
            "get": op("List a group's contacts", "One page", page_of("Contact"),
                      tag="Contacts", params=PAGING),
            "post": op(f"Add one contact (object, 201) or up to {BULK_MAX} (array, 200 with "
                       "per-item errors; valid items are stored)", "Bulk result",
                       ref("BulkResult"), request={"oneOf": [CONTACT_CREATE, CONTACT_BULK]},
                       tag="Contacts", errors=WRITE,
                       extra={"201": {"description": "The contact",
                                      "content": json_content(ref("Contact"))}}),
        },
        "/contacts/{id}": contact,
        "/dnc": {
            "get": op("List the do-not-call list: the tenant's; with the provider key the "
                      "provider-wide list, or a tenant's with tenant_id", "One page",
                      page_of("Dnc"), tag="DNC", params=(*PAGING, TENANT_FILTER)),
            "post": op("Add a number", "Added", ref("Dnc"), status="201", request=DNC_CREATE,
                       tag="DNC", errors=WRITE),
        },
        "/dnc/{id}": {"parameters": [path_id()], "delete": op(
            "Remove a number", "Removed", status="204", tag="DNC")},
        "/campaigns": campaigns,
        "/campaigns/{id}": campaign,
        **{f"/campaigns/{{id}}/{action}": {"parameters": [path_id()], "post": op(
            summary, "The campaign", ref("Campaign"), tag="Campaigns",
            errors=("400", "401", "403", "404", "409"))} for action, summary in (
            ("start", "Start (or resume) the campaign: queues its group's contacts"),
            ("pause", "Pause: no new calls, calls in progress finish"),
            ("stop", "Stop for good"))},
        "/campaigns/{id}/survey": {"parameters": [path_id()], "get": op(
            "Survey results: answers per question and key", "The results",
            ref("SurveyResults"), tag="Campaigns")},
        "/ivrs": ivrs,
        "/ivrs/{id}": ivr,
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "voxcast API", "version": "1.0.0", "description": (
            "JSON API of voxcast. Authenticate with `Authorization: Bearer <key>` (or "
            "`X-API-Key: <key>`). A tenant's key acts as that tenant's administrator; the "
            "provider's key acts as the provider and may name a tenant with `tenant_id`. "
            "Another tenant's ids are answered with 404. Errors are "
            "`{\"error\": {\"code\", \"message\", \"fields\"}}`.")},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": copy.deepcopy(SCHEMAS),
        },
        "paths": copy.deepcopy(paths),  # x-pattern-message: an allowed x- extension
    }


DOCUMENT = build()
