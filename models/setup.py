"""Schema creation and the first-run data: provider admin, default rate plan, master tenant."""
from __future__ import annotations

import secrets

from werkzeug.security import generate_password_hash

from .db import database
from .entities import ALL_MODELS, RatePlan, Tenant, User


def create_schema() -> None:
    database.create_tables(ALL_MODELS, safe=True)


def bootstrap(admin_username: str = "admin", admin_password: str | None = None) -> str | None:
    """Create what a new installation needs; returns the admin password only when it was created."""
    create_schema()
    with database.atomic():
        plan, _ = RatePlan.get_or_create(name="Default", defaults={"is_default": True})
        Tenant.get_or_create(
            slug="master",
            defaults={"name": "master", "rate_plan": plan, "channel_limit": 50},
        )
        if User.select().where(User.role == "admin").exists():
            return None
        password = admin_password or secrets.token_urlsafe(12)
        User.create(username=admin_username, password_hash=generate_password_hash(password),
                    role="admin", first_name="Provider", last_name="Admin")
        return password
