"""The JSON API, /api/v1: API-key authentication, JSON errors and paging shared by the
resource modules. Resources are thin (wazo-calld style): check the permission, find the
tenant, call the service, dump the row. Sessions and CSRF play no part here: a browser's
session cookie alone never authenticates an API call."""
from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from models import Tenant
from models.tenancy import TenantScopeError
from voxcast.errors import ServiceError
from voxcast.accounts import api_keys

from . import validation

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.openapi", "api.docs"}
MAX_INT = 2**31 - 1
ID = "int(min=1, max=2147483647)"  # URL converter: ids outside the range are simply not found


class ApiError(Exception):
    """An error with an HTTP status and a stable code, rendered as
    {"error": {"code": ..., "message": ..., "fields": {...}}}."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify(error={"code": code, "message": message, "fields": fields or {}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="voxcast"'
    return response


HTTP_CODES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 413: "too-large", 415: "unsupported-media-type"}


def http_error(exc: HTTPException):
    """For paths under /api/: also used by the app for routing errors (no such URL)."""
    return error_response(exc.code or 500, HTTP_CODES.get(exc.code, "error"),
                          exc.description or exc.name)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    """Any typed service error a resource does not map itself: its own code and status."""
    return error_response(exc.status, exc.code, str(exc), exc.fields)


@bp.errorhandler(TenantScopeError)
def _not_yours(exc):
    return error_response(404, "not-found", "Not found.")


@bp.errorhandler(HTTPException)
def _http_error(exc):
    return http_error(exc)


@bp.before_request
def authenticate():
    g.principal = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    secret = header[7:] if header[:7].lower() == "bearer " else request.headers.get("X-API-Key", "")
    try:
        g.principal = api_keys.authenticate(secret)
    except api_keys.Refused as exc:
        return error_response(exc.status, exc.code, exc.message)
    return None


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def principal() -> api_keys.Principal:
    return g.principal


def admin_only(view):
    """Resources of the provider: a tenant's key gets 403."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not principal().is_admin:
            raise ApiError(403, "admin-only", "This resource needs the provider's API key.")
        return view(*args, **kwargs)
    return wrapped


def scope() -> int | None:
    """The tenant whose rows a call sees: a tenant key's own; for the provider's key the
    `tenant_id` query parameter, or None (every tenant)."""
    if not principal().is_admin:
        return principal().tenant_id
    return query_int("tenant_id", None, minimum=1)


def target_tenant(body: dict) -> Tenant:
    """The tenant a new row is created for: a tenant key's own; the provider's key must name
    one with `tenant_id` in the body."""
    if not principal().is_admin:
        return Tenant.get_by_id(principal().tenant_id)
    tenant_id = body.get("tenant_id")
    if tenant_id is None:
        raise ApiError(422, "validation", "The provider's key must say which tenant.",
                       {"tenant_id": "is required with the provider's key"})
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise ApiError(422, "validation", "No such tenant.", {"tenant_id": "no such tenant"})
    return tenant


def own_tenant_only(body: dict) -> None:
    """A tenant key may name no tenant_id but its own (the provider's key names any)."""
    own = principal().tenant_id
    if not principal().is_admin and body.get("tenant_id", own) != own:
        raise ApiError(422, "validation", "tenant_id is only for the provider's key.",
                       {"tenant_id": "only with the provider's key"})


def query_int(name: str, default, *, minimum: int = 1, maximum: int = MAX_INT):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad-parameter", f"'{name}' must be an integer.",
                       {name: "must be an integer"}) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, "bad-parameter", f"'{name}' must be between {minimum} and {maximum}.",
                       {name: f"must be between {minimum} and {maximum}"})
    return value


def body(schema: dict, *, allow_list: bool = False):
    """The JSON body, checked against `schema` (the one the OpenAPI document shows): 400 when
    it is not JSON, 422 with per-field reasons when it does not fit."""
    data = request.get_json(force=True, silent=True)
    if data is None:
        raise ApiError(400, "invalid-json", "The request body must be a JSON object.")
    if allow_list and isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise ApiError(400, "invalid-json", "The request body must be a JSON object.")
    fields = validation.check(schema, data)
    if fields:
        raise ApiError(422, "validation", "Some fields are not valid.", fields)
    return data


def page_args() -> tuple[int, int]:
    """?page (from 1) and ?per_page (50 unless given, at most 200)."""
    return query_int("page", 1), query_int("per_page", 50, maximum=200)


def paginate(query, dump, *, lookup=None, **extra):
    """One page of `query` (?page, ?per_page) as JSON: items dumped by dump(row), or with
    `lookup` by dump(row, lookup(rows)) (names read once per page); `extra` keys beside."""
    page, per_page = page_args()
    total = query.count()
    rows = list(query.paginate(page, per_page))
    if lookup is None:
        items = [dump(r) for r in rows]
    else:
        found = lookup(rows)
        items = [dump(r, found) for r in rows]
    return jsonify(items=items, page=page, per_page=per_page, total=total, **extra)


def ip() -> str:
    return request.remote_addr or ""


from . import docs, resources  # noqa: E402,F401  (registers the routes on bp)


def init_app(app) -> None:
    """Register the API: no CSRF (no cookies are used), JSON errors for unknown /api/ URLs."""
    from webui import csrf
    csrf.exempt(bp)
    app.register_blueprint(bp)

    @app.errorhandler(405)
    def _method_not_allowed(exc):
        if request.path.startswith("/api/"):
            return http_error(exc)
        return exc
