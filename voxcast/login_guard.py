"""Login throttling: per-account lockout and a sliding per-address limit, kept in the database.

An account is locked for LOCK_MINUTES after MAX_USER_FAILURES wrong passwords in a row
(User.failed_logins / locked_until); a client address is refused after MAX_IP_FAILURES
failures within WINDOW_MINUTES (LoginFailure rows). A username that does not exist is
counted in LoginFailure too and locks exactly like a real one, so neither the messages nor
the lockout behaviour tell an attacker which usernames exist. State lives in the database
because the web UI runs threaded under waitress and may run as several processes."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from models import User, database
from models.entities import LoginFailure, utcnow

MAX_USER_FAILURES = 5
LOCK_MINUTES = 15
MAX_IP_FAILURES = 20
WINDOW_MINUTES = 15


@dataclass(frozen=True)
class Throttled:
    """Login refused without looking at the password; `minutes` until it may be tried again."""
    minutes: int

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"Too many failed attempts; try again in {self.minutes} {unit}."


def _minutes_until(when: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((when - now).total_seconds() / 60))


def _window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=WINDOW_MINUTES)


def _name_failures(username: str, now: dt.datetime) -> list[dt.datetime]:
    """Failures under this name within the window, newest first."""
    return [row.created_at for row in
            LoginFailure.select(LoginFailure.created_at)
            .where(LoginFailure.username == username,
                   LoginFailure.created_at > _window_start(now))
            .order_by(LoginFailure.created_at.desc())]


def check(username: str, ip: str, user: User | None, now: dt.datetime | None = None
          ) -> Throttled | None:
    """Whether this attempt must be refused before the password is even checked."""
    now = now or utcnow()
    recent_ip = [row.created_at for row in
                 LoginFailure.select(LoginFailure.created_at)
                 .where(LoginFailure.ip == ip, LoginFailure.created_at > _window_start(now))
                 .order_by(LoginFailure.created_at.desc())]
    if len(recent_ip) >= MAX_IP_FAILURES:
        # Free again when enough of the window's failures have aged out.
        pivot = recent_ip[MAX_IP_FAILURES - 1]
        return Throttled(_minutes_until(pivot + dt.timedelta(minutes=WINDOW_MINUTES), now))
    if user is not None:
        if user.locked_until is not None and user.locked_until > now:
            return Throttled(_minutes_until(user.locked_until, now))
        return None
    # An unknown username locks like an account, from the failures recorded under its name.
    times = _name_failures(username, now)
    if len(times) >= MAX_USER_FAILURES:
        return Throttled(_minutes_until(times[0] + dt.timedelta(minutes=LOCK_MINUTES), now))
    return None


def record_failure(username: str, ip: str, user: User | None,
                   now: dt.datetime | None = None) -> Throttled | None:
    """Count a failed attempt; returns Throttled when this failure locked the name.

    Known and unknown usernames count the same way (failures under the name within the
    window), so their behaviour cannot be told apart; a real account mirrors the count into
    User.failed_logins and the lock into User.locked_until, where administrators see them."""
    now = now or utcnow()
    with database.atomic():
        LoginFailure.delete().where(LoginFailure.created_at <= _window_start(now)).execute()
        LoginFailure.create(ip=ip, username=username[:150], created_at=now)
        count = len(_name_failures(username[:150], now))
        locked = count >= MAX_USER_FAILURES
        if user is not None:
            changes = {User.failed_logins: count}
            if locked:
                changes[User.locked_until] = now + dt.timedelta(minutes=LOCK_MINUTES)
            User.update(changes).where(User.id == user.id).execute()
    return Throttled(LOCK_MINUTES) if locked else None


def record_success(user: User) -> None:
    """A correct password ends the account's run of failures. The address's failures stay
    counted: an attacker holding one valid account must not be able to reset them."""
    unlock(user)


def unlock(user: User) -> None:
    """Clear an account's lock and failure count (after a good login, or by an administrator)."""
    with database.atomic():
        LoginFailure.update(username="").where(LoginFailure.username == user.username).execute()
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
