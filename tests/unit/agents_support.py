"""Shared builders for the agent and queue tests: a tenant's agent with an extension."""
from __future__ import annotations

import itertools

from voxcast.accounts.passwords import hash_password

from models import Extension, Tenant, User

_numbers = itertools.count(7001)


def make_agent(tenant: Tenant, username: str, *, pin: str = "4321", extension: bool = True,
               role: str = "agent") -> User:
    user = User.create(tenant=tenant, username=username, role=role,
                       password_hash=hash_password("pw-" + username),
                       pin=hash_password(pin) if pin else "")
    if extension:
        Extension.create(number=str(next(_numbers)), secret="s3cret-" + username, tenant=tenant,
                         user=user)
    return user


def extension_number(user: User) -> str:
    return Extension.get(Extension.user == user.id).number
