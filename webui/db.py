"""The database connection follows the request: opened before it, closed on teardown."""
from __future__ import annotations

from flask import Flask, request

from models import database


def open_connection() -> None:
    if request.endpoint == "health.health":  # it connects itself, to answer 503 on failure
        return
    database.connect(reuse_if_open=True)


def close_connection(exc: BaseException | None = None) -> None:
    if not database.is_closed():
        database.close()


def init_app(app: Flask) -> None:
    app.before_request(open_connection)
    app.teardown_request(close_connection)
