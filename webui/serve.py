"""Serve the web UI with waitress on localhost."""
from __future__ import annotations

from waitress import serve as waitress_serve

from models import database
from models.migrations import require_current
from voxcast.config import Settings

from . import create_app


def serve(settings: Settings) -> None:
    app = create_app(settings)
    require_current()  # an old schema is `voxcast initdb`'s to migrate, not the UI's
    database.close()
    print(f"voxcast web UI: http://127.0.0.1:{settings.web_port}/", flush=True)
    waitress_serve(app, host="127.0.0.1", port=settings.web_port, threads=8)
