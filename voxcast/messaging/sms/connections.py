"""SMSC connections (provider level): create, change, enable/disable, and their bind status
as the SMS service publishes it (SystemStatus "smsc:<id>"). The admin page and the provider
API both call these."""
from __future__ import annotations

import json
from dataclasses import dataclass

from models import database
from models.entities import SmscConnection, SystemStatus
from voxcast.audit import records as audit
from voxcast.errors import ServiceError

FIELDS = ("name", "host", "port", "system_id", "password", "system_type", "source_addr",
          "source_ton", "source_npi", "dest_ton", "dest_npi", "throughput", "enabled",
          "is_default")


class SmscError(ServiceError):
    code = "bad-smsc-connection"
    status = 422

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class NoSuchSmsc(ServiceError):
    code = "no-such-smsc"
    status = 404


@dataclass(frozen=True)
class BindStatus:
    state: str  # bound | connecting | down | disabled | "" (never reported)
    error: str = ""
    since: str = ""


def bind_status(connection_id: int) -> BindStatus:
    row = SystemStatus.get_or_none(SystemStatus.key == f"smsc:{connection_id}")
    if row is None:
        return BindStatus("")
    try:
        value = json.loads(row.value)
    except ValueError:
        return BindStatus(row.value)
    return BindStatus(value.get("state", ""), value.get("error", ""), value.get("since", ""))


def get(connection_id: int) -> SmscConnection:
    row = SmscConnection.get_or_none(SmscConnection.id == connection_id)
    if row is None:
        raise NoSuchSmsc("No such SMSC connection")
    return row


def _check(values: dict) -> dict:
    clean = {k: v for k, v in values.items() if k in FIELDS}
    if "name" in clean and not (clean["name"] or "").strip():
        raise SmscError("A name is required", "name")
    if "system_id" in clean and not (clean["system_id"] or "").strip():
        raise SmscError("A system id is required", "system_id")
    if len(clean.get("system_id") or "") > 15:
        raise SmscError("The system id has at most 15 characters (SMPP 3.4)", "system_id")
    if len(clean.get("password") or "") > 8:
        raise SmscError("The password has at most 8 characters (SMPP 3.4)", "password")
    if "port" in clean and not 1 <= int(clean["port"]) <= 65535:
        raise SmscError("The port must be 1-65535", "port")
    if "throughput" in clean and int(clean["throughput"]) < 0:
        raise SmscError("The throughput cannot be negative", "throughput")
    for key in ("source_ton", "source_npi", "dest_ton", "dest_npi"):
        if key in clean and not 0 <= int(clean[key]) <= 18:
            raise SmscError("TON / NPI values are 0-18", key)
    if len(clean.get("source_addr") or "") > 20:
        raise SmscError("The source address has at most 20 characters", "source_addr")
    return clean


def _unique_default(row: SmscConnection) -> None:
    if row.is_default:
        (SmscConnection.update(is_default=False)
         .where(SmscConnection.id != row.id).execute())


def create(values: dict, *, actor=None, ip: str = "") -> SmscConnection:
    clean = _check(values)
    with database.atomic():
        if SmscConnection.select().where(SmscConnection.name == clean["name"]).exists():
            raise SmscError("An SMSC connection of that name exists", "name")
        row = SmscConnection.create(**clean)
        _unique_default(row)
        audit.record("smsc.create", tenant_id=None, user=actor, object_type="smsc",
                     object_id=row.id, detail=f"{row.name} {row.host}:{row.port}", ip=ip)
    return row


def update(connection_id: int, values: dict, *, actor=None, ip: str = "") -> SmscConnection:
    """An empty password keeps the stored one."""
    clean = _check(values)
    if not clean.get("password"):
        clean.pop("password", None)
    with database.atomic():
        row = get(connection_id)
        if "name" in clean and (SmscConnection.select()
                                .where(SmscConnection.name == clean["name"],
                                       SmscConnection.id != row.id).exists()):
            raise SmscError("An SMSC connection of that name exists", "name")
        for key, value in clean.items():
            setattr(row, key, value)
        row.save()
        _unique_default(row)
        audit.record("smsc.update", tenant_id=None, user=actor, object_type="smsc",
                     object_id=row.id, detail=", ".join(sorted(k for k in clean if k != "password")),
                     ip=ip)
    return row


def set_enabled(connection_id: int, enabled: bool, *, actor=None, ip: str = "") -> SmscConnection:
    with database.atomic():
        row = get(connection_id)
        row.enabled = enabled
        row.save()
        audit.record("smsc.enable" if enabled else "smsc.disable", tenant_id=None, user=actor,
                     object_type="smsc", object_id=row.id, detail=row.name, ip=ip)
    return row


def listing() -> list[tuple[SmscConnection, BindStatus]]:
    return [(row, bind_status(row.id)) for row in SmscConnection.select().order_by(SmscConnection.name)]
