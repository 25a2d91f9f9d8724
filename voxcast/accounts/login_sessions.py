"""Server-side record of browser logins (LoginSession rows).

Flask's session is a signed cookie: without a record on the server, a copy of it stays valid
after logout until it idles out. The cookie carries a random id whose hash is a row here;
logout ends that row, so only that session dies ("log out"), while User.session_version still
ends every session at once (password change, "log out everywhere", account disabled). Ended
rows are kept for a while as the addresses a user logged in from (voxcast.accounts.login_guard)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from models import User, database
from models.cached_sql import CachedSelect
from models.entities import LoginSession, utcnow

# Writing last_seen_at on every request would make each page view a write; a minute is enough.
SEEN_RESOLUTION_S = 60
KNOWN_ADDRESS_DAYS = 30


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def open_session(user: User, ip: str, now: dt.datetime | None = None) -> str:
    """A new session for the user; returns the raw id for the cookie."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    with database.atomic():
        LoginSession.delete().where(
            LoginSession.last_seen_at < now - dt.timedelta(days=KNOWN_ADDRESS_DAYS)).execute()
        LoginSession.create(user=user.id, key_hash=_hash(raw), ip=ip[:64], created_at=now,
                            last_seen_at=now)
    return raw


def is_live(user_id: int, raw: str | None, idle: dt.timedelta,
            now: dt.datetime | None = None) -> bool:
    """Whether this cookie's session is still open: not logged out, not idle longer than
    `idle` (checked here too, so a replayed cookie cannot keep a session alive past logout
    or past its lifetime by being re-signed)."""
    if not raw:
        return False
    now = now or utcnow()
    row = _OPEN_SESSION.first(_hash(raw), user_id)
    if row is None:
        return False
    row_id, last_seen_at = row
    if now - last_seen_at > idle:
        return False
    if (now - last_seen_at).total_seconds() > SEEN_RESOLUTION_S:
        LoginSession.update(last_seen_at=now).where(LoginSession.id == row_id).execute()
    return True


# is_live's read, on every request: its SQL built once per database (models.cached_sql)
_OPEN_SESSION = CachedSelect(
    lambda key_hash, user_id: (LoginSession.select(LoginSession.id, LoginSession.last_seen_at)
                               .where(LoginSession.key_hash == key_hash,
                                      LoginSession.user == user_id,
                                      LoginSession.ended_at.is_null())
                               .limit(1)),
    samples=("\0hash", -7_000_001))


def end(raw: str | None, now: dt.datetime | None = None) -> None:
    """Log out this session only."""
    if raw:
        LoginSession.update(ended_at=now or utcnow()).where(
            LoginSession.key_hash == _hash(raw), LoginSession.ended_at.is_null()).execute()


def end_all(user_id: int, now: dt.datetime | None = None) -> int:
    """Log out every session of the user; returns how many were open."""
    return (LoginSession.update(ended_at=now or utcnow())
            .where(LoginSession.user == user_id, LoginSession.ended_at.is_null()).execute())


def is_known_address(user_id: int, ip: str, now: dt.datetime | None = None) -> bool:
    """Whether the user logged in successfully from this address within KNOWN_ADDRESS_DAYS."""
    now = now or utcnow()
    return (LoginSession.select().where(
        LoginSession.user == user_id, LoginSession.ip == ip[:64],
        LoginSession.created_at > now - dt.timedelta(days=KNOWN_ADDRESS_DAYS)).exists())
