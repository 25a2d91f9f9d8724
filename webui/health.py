"""`/health` for a load balancer or a monitor: no login, 200 with a JSON status while the
database answers, 503 when it does not. No tenant's data in it."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from models import database

from .status import ari_state

bp = Blueprint("health", __name__)
log = logging.getLogger("voxcast.web")


@bp.route("/health")
def health():
    try:  # webui.db opens no connection for this endpoint: a failure to connect is ours
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # noqa: BLE001 - whatever it is, the database is not usable
        log.warning("health: database unreachable: %r", exc)
        return jsonify(status="unavailable", database="unreachable"), 503
    ari = ari_state()
    return jsonify(status="ok" if ari == "connected" else "degraded", database="ok", ari=ari)
