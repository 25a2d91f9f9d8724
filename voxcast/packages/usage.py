"""A tenant's usage over a period, from its own records: calls (CDRs), messages, disk, what
the ledger charged, and what is still included. For usage billing (the front end's metrics)
and the provider's and the tenant's usage pages."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from peewee import fn

from models import Call, Tenant
from models.entities import LedgerEntry, Message, utcnow
from voxcast.billing import ledger
from voxcast.tenants import quotas

# ledger kinds whose rows are costs (what the balance paid, as a positive amount)
COST_KINDS = ("call", "sms", "fax", "email", "did_fee", "charge", "subscription", "setup_fee")


@dataclass
class Usage:
    start: dt.datetime
    end: dt.datetime
    calls: int = 0  # CDRs started in the period (placed or received)
    seconds: int = 0  # their billed seconds
    minutes: int = 0  # seconds / 60, rounded up once (not per call)
    sms_messages: int = 0  # outbound SMS charged
    sms_parts: int = 0  # their segments
    fax_pages: int = 0  # pages of outbound faxes charged
    emails: int = 0  # outbound e-mails charged
    disk_bytes: int = 0  # stored now (sounds, recordings, fax documents)
    cost: dict[str, Decimal] = field(default_factory=dict)  # ledger kind -> paid in period
    included_left: dict[str, int] = field(default_factory=dict)  # minutes, sms, fax, email

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(timespec="seconds") + "Z",
                "to": self.end.isoformat(timespec="seconds") + "Z",
                "calls": self.calls, "seconds": self.seconds, "minutes": self.minutes,
                "sms_messages": self.sms_messages, "sms_parts": self.sms_parts,
                "fax_pages": self.fax_pages, "emails": self.emails,
                "disk_bytes": self.disk_bytes, "disk_mb": round(self.disk_bytes / 1048576, 2),
                "cost": {k: f"{v:.4f}" for k, v in self.cost.items()},
                "included_left": dict(self.included_left)}


def minutes_of(seconds: int) -> int:
    """Billed seconds as minutes, rounded up (pure)."""
    return -(-int(seconds) // 60)


def usage(tenant_id: int, start: dt.datetime, end: dt.datetime, *,
          sounds_dir: Path | None = None, recordings_dir: Path | None = None) -> Usage:
    """Usage of [start, end) (naive UTC). Disk is what is stored now; included_left what
    is still unspent now (free and included minutes together)."""
    out = Usage(start, end)
    calls, seconds = (Call.select(fn.COUNT(Call.id), fn.COALESCE(fn.SUM(Call.billsec), 0))
                      .where(Call.tenant == tenant_id, Call.started_at >= start,
                             Call.started_at < end).tuples().first())
    out.calls, out.seconds = int(calls or 0), int(seconds or 0)
    out.minutes = minutes_of(out.seconds)
    when = fn.COALESCE(Message.submitted_at, Message.created_at)
    for channel, count, units in (Message
                                  .select(Message.channel, fn.COUNT(Message.id),
                                          fn.COALESCE(fn.SUM(Message.units), 0))
                                  .where(Message.tenant == tenant_id,
                                         Message.direction == "outbound",
                                         Message.cost.is_null(False),
                                         when >= start, when < end)
                                  .group_by(Message.channel).tuples()):
        count, units = int(count or 0), int(units or 0)
        if channel == "sms":
            out.sms_messages, out.sms_parts = count, units
        elif channel == "fax":
            out.fax_pages = units
        elif channel == "email":
            out.emails = count
    for kind, amount in (LedgerEntry.select(LedgerEntry.kind, LedgerEntry.amount)
                         .where(LedgerEntry.tenant == tenant_id,
                                LedgerEntry.kind.in_(COST_KINDS),
                                LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
                         .tuples()):
        # summed in Python: SQLite sums Money in floats
        out.cost[kind] = out.cost.get(kind, Decimal("0")) - Decimal(amount or 0)
    out.cost = {k: ledger.money(v) for k, v in sorted(out.cost.items())}
    now = utcnow()
    out.included_left = {"minutes": ledger.free_seconds(tenant_id, now) // 60,
                         **{k: ledger.free_units(tenant_id, k, now) for k in ledger.UNIT_KINDS}}
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is not None:
        if sounds_dir is None:
            from voxcast import config
            settings = config.load()
            sounds_dir, recordings_dir = settings.sounds_dir, settings.recordings_dir
        out.disk_bytes = quotas.disk_bytes(tenant, sounds_dir, recordings_dir)
    return out
