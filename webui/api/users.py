"""/api/v1/users: a tenant's accounts, through voxcast.accounts.users (the UI's rules)."""
from __future__ import annotations

from flask import jsonify

from models import Tenant, User, database
from models.tenancy import get_scoped, scoped
from voxcast.accounts import users as user_service
from voxcast.accounts.users import UserError

from . import (ID, ApiError, body, bp, ip, paginate, own_tenant_only, principal, scope,
               target_tenant)
from .spec import USER_CREATE, USER_UPDATE

PROFILE = ("first_name", "last_name", "email", "phone", "timezone", "language")


def dump_user(u: User) -> dict:
    return {"id": u.id, "tenant_id": u.tenant_id, "username": u.username, "role": u.role,
            "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
            "phone": u.phone, "timezone": u.timezone, "language": u.language,
            "active": u.active, "created_at": u.created_at.isoformat() + "Z"}


def refused(exc: UserError) -> ApiError:
    field = exc.field or "body"
    taken = "taken" in str(exc)
    return ApiError(409 if taken else 422, "conflict" if taken else "validation", str(exc),
                    {field: str(exc)})


def tenant_users(tenant_id: int | None):
    """Accounts of tenants only: the provider's own admins are never API users."""
    return scoped(User, tenant_id).where(User.tenant.is_null(False))


def _user(user_id: int) -> User:
    user = get_scoped(User, scope(), user_id)
    if user.tenant_id is None:
        raise ApiError(404, "not-found", "Not found.")
    return user


@bp.get("/users")
def users_list():
    return paginate(tenant_users(scope()).order_by(User.id), dump_user)


@bp.post("/users")
def users_create():
    data = body(USER_CREATE)
    own_tenant_only(data)
    tenant: Tenant = target_tenant(data)
    try:
        with database.atomic():  # created disabled, or not at all
            user = user_service.create_user(
                tenant, username=data["username"], role=data.get("role", "user"),
                password=data["password"], pin=data["pin"], actor=principal(), ip=ip(),
                **{k: data[k] for k in PROFILE if k in data})
            if data.get("active") is False:
                user_service.set_active(user, False, actor=principal(), ip=ip())
    except UserError as exc:
        raise refused(exc) from None
    return jsonify(dump_user(user)), 201


@bp.get(f"/users/<{ID}:user_id>")
def users_get(user_id: int):
    return jsonify(dump_user(_user(user_id)))


@bp.patch(f"/users/<{ID}:user_id>")
def users_update(user_id: int):
    user = _user(user_id)
    data = body(USER_UPDATE)
    profile = {k: data.get(k, getattr(user, k)) for k in PROFILE}
    try:
        with database.atomic():  # every change of the request, or none
            user = user_service.update_user(
                user, role=data.get("role", user.role), password=data.get("password", ""),
                pin=data.get("pin", ""), actor=principal(), ip=ip(), **profile)
            if "active" in data and data["active"] != user.active:
                user_service.set_active(user, data["active"], actor=principal(), ip=ip())
    except UserError as exc:
        raise refused(exc) from None
    return jsonify(dump_user(User.get_by_id(user.id)))


@bp.delete(f"/users/<{ID}:user_id>")
def users_delete(user_id: int):
    user = _user(user_id)
    try:
        user_service.delete_user(user, actor=principal(), ip=ip())
    except UserError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return "", 204
