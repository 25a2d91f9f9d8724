"""/api/v1/groups, /groups/{id}/contacts, /contacts/{id}: through voxcast.contacts.services,
so the API and the UI share E.164 normalisation, duplicate and quota rules."""
from __future__ import annotations

from flask import jsonify

from models import Contact, ContactGroup, Tenant, database
from models.tenancy import get_scoped, scoped
from voxcast.contacts import services as contact_service
from voxcast.contacts.services import FIELDS, ContactError, DuplicateContact, GroupError, QuotaError

from . import (ID, ApiError, body, bp, ip, paginate, own_tenant_only, principal, scope,
               target_tenant, validation)
from .spec import CONTACT_BULK, CONTACT_CREATE, CONTACT_UPDATE, GROUP_CREATE, GROUP_UPDATE


def dump_group(g: ContactGroup) -> dict:
    return {"id": g.id, "tenant_id": g.tenant_id, "name": g.name,
            "contacts": Contact.select().where(Contact.group == g.id).count()}


def dump_contact(c: Contact) -> dict:
    return {"id": c.id, "group_id": c.group_id, **{name: getattr(c, name) for name in FIELDS}}


def refused(exc: ContactError, field: str = "") -> ApiError:
    if isinstance(exc, DuplicateContact) or "already exists" in str(exc):
        return ApiError(409, exc.code, str(exc), {field: str(exc)} if field else {})
    if isinstance(exc, QuotaError):
        return ApiError(403, exc.code, str(exc))
    if not field:
        field = "phone" if exc.code == "invalid-phone" else "body"
    return ApiError(422, exc.code, str(exc), {field: str(exc)})


def _group(group_id: int) -> ContactGroup:
    return get_scoped(ContactGroup, scope(), group_id)


@bp.get("/groups")
def groups_list():
    return paginate(scoped(ContactGroup, scope()).order_by(ContactGroup.id), dump_group)


@bp.post("/groups")
def groups_create():
    data = body(GROUP_CREATE)
    own_tenant_only(data)
    tenant: Tenant = target_tenant(data)
    try:
        group = contact_service.create_group(tenant.id, data["name"], actor=principal(), ip=ip())
    except GroupError as exc:
        raise refused(exc, "name") from None
    return jsonify(dump_group(group)), 201


@bp.get(f"/groups/<{ID}:group_id>")
def groups_get(group_id: int):
    return jsonify(dump_group(_group(group_id)))


@bp.patch(f"/groups/<{ID}:group_id>")
def groups_update(group_id: int):
    group = _group(group_id)
    data = body(GROUP_UPDATE)
    try:
        group = contact_service.rename_group(group, data["name"], actor=principal(), ip=ip())
    except GroupError as exc:
        raise refused(exc, "name") from None
    return jsonify(dump_group(group))


@bp.delete(f"/groups/<{ID}:group_id>")
def groups_delete(group_id: int):
    group = _group(group_id)
    try:
        contact_service.delete_group(group, actor=principal(), ip=ip())
    except GroupError as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    return "", 204


@bp.get(f"/groups/<{ID}:group_id>/contacts")
def group_contacts(group_id: int):
    group = _group(group_id)
    return paginate(scoped(Contact, group.tenant_id).where(Contact.group == group.id)
                    .order_by(Contact.id), dump_contact)


def _add(group: ContactGroup, item: dict) -> Contact:
    return contact_service.add_contact(group, group.tenant.country, actor=principal(), ip=ip(),
                                       **item)


@bp.post(f"/groups/<{ID}:group_id>/contacts")
def group_contacts_add(group_id: int):
    """An object adds one contact (201); an array adds many, each valid item stored and each
    refused one reported by its index (200)."""
    group = _group(group_id)
    data = body(CONTACT_CREATE, allow_list=True)
    if isinstance(data, dict):
        try:
            contact = _add(group, data)
        except ContactError as exc:
            raise refused(exc) from None
        return jsonify(dump_contact(contact)), 201
    fields = validation.check({k: v for k, v in CONTACT_BULK.items() if k != "items"}, data)
    if fields:
        raise ApiError(422, "validation", "Send between 1 and "
                       f"{CONTACT_BULK['maxItems']} contacts.", fields)
    created, errors = [], []
    with database.atomic():
        for index, item in enumerate(data):
            problems = validation.check(CONTACT_CREATE, item)
            if problems:
                errors.append({"index": index, "code": "validation",
                               "message": "Some fields are not valid.", "fields": problems})
                continue
            try:
                with database.atomic():
                    created.append(_add(group, item))
            except ContactError as exc:
                err = refused(exc)
                errors.append({"index": index, "code": err.code, "message": err.message,
                               "fields": err.fields})
    return jsonify(created=[dump_contact(c) for c in created], errors=errors)


@bp.get(f"/contacts/<{ID}:contact_id>")
def contacts_get(contact_id: int):
    return jsonify(dump_contact(get_scoped(Contact, scope(), contact_id)))


@bp.patch(f"/contacts/<{ID}:contact_id>")
def contacts_update(contact_id: int):
    contact = get_scoped(Contact, scope(), contact_id)
    data = body(CONTACT_UPDATE)
    try:
        contact = contact_service.update_contact(contact, contact.tenant.country, data,
                                                 actor=principal(), ip=ip())
    except ContactError as exc:
        raise refused(exc) from None
    return jsonify(dump_contact(contact))


@bp.delete(f"/contacts/<{ID}:contact_id>")
def contacts_delete(contact_id: int):
    contact = get_scoped(Contact, scope(), contact_id)
    contact_service.delete_contacts(contact.tenant_id, [contact.id], actor=principal(), ip=ip())
    return "", 204
