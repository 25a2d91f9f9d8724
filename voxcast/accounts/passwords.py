"""Passwords and PINs are hashed here only: werkzeug's scrypt unless VOXCAST_PASSWORD_HASH
names another werkzeug method. The test suites set a cheap one ("pbkdf2:sha256:1000"): every
test bootstraps two users and logs in, and scrypt's ~100 ms each (several times that on a busy
machine) was most of the unit tests' time. A hash names its method, so a stored hash verifies
whatever the setting is now."""
from __future__ import annotations

import os

from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_METHOD = "scrypt"


def method() -> str:
    return os.environ.get("VOXCAST_PASSWORD_HASH", "").strip() or DEFAULT_METHOD


def hash_password(secret: str) -> str:
    return generate_password_hash(secret, method=method())


def verify(stored: str, secret: str) -> bool:
    return check_password_hash(stored, secret)
