"""Schema creation and the first-run data: provider admin, default rate plan, master tenant."""
from __future__ import annotations

import secrets

from voxcast.accounts.passwords import hash_password

from .db import database
from .entities import ALL_MODELS, Rate, RatePlan, Tenant, User


def create_schema() -> list[str]:
    """Today's schema: a new database is created, an older one migrated (models.migrations).
    Only `voxcast initdb` (and `run`, which calls it) and tests call this."""
    from .migrations import upgrade
    return upgrade()


def bootstrap(admin_password: str | None = None,
              master_password: str | None = None) -> dict[str, str]:
    """Create what a new installation needs. Returns {username: password} for the accounts it
    created just now (the provider admin and the master tenant's admin), so they are shown once."""
    create_schema()
    created: dict[str, str] = {}
    with database.atomic():
        plan, new_plan = RatePlan.get_or_create(name="Default", defaults={"is_default": True})
        if new_plan:  # every destination free until the provider sets prices, so a fresh
            # installation can call; a plan without a rate for a number never dials it
            Rate.insert_many([{"plan": plan, "prefix": str(d), "per_minute": 0,
                               "description": "All destinations (set your prices)",
                               "initial_s": 1, "increment_s": 1} for d in range(1, 10)]).execute()
        master, _ = Tenant.get_or_create(
            slug="master",
            defaults={"name": "master", "rate_plan": plan, "channel_limit": 50},
        )
        if not User.select().where(User.role == "admin").exists():
            password = admin_password or secrets.token_urlsafe(12)
            User.create(username="admin", password_hash=hash_password(password),
                        role="admin", first_name="Provider", last_name="Admin")
            created["admin"] = password
        if not User.select().where(User.tenant == master, User.role == "tenant").exists():
            password = master_password or secrets.token_urlsafe(12)
            User.create(username="master", tenant=master, role="tenant",
                        password_hash=hash_password(password),
                        first_name="Master", last_name="Tenant")
            created["master"] = password
    from voxcast.billing.ledger import adopt_unledgered_balances
    adopt_unledgered_balances()  # balances from before the ledger become opening entries
    return created
