"""Small facts the Stasis app publishes for the web UI (SystemStatus rows)."""
from __future__ import annotations

from models import SystemStatus
from models.entities import utcnow


def set_status(key: str, value: str) -> None:
    (SystemStatus.insert(key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[SystemStatus.key],
                  update={SystemStatus.value: value, SystemStatus.updated_at: utcnow()})
     .execute())
