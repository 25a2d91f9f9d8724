"""Login throttling, kept in the database (LoginFailure rows, 15-minute sliding window).

Three limits, so that nobody can lock someone else out yet guessing stays slow:
- a (username, address) pair is refused for LOCK_MINUTES after MAX_USER_FAILURES failures:
  an attacker elsewhere locks only their own attempts, never the real user's address;
- an address is refused after MAX_IP_FAILURES failures within WINDOW_MINUTES, whatever the
  names (guessing many accounts from one place);
- a username is refused after MAX_NAME_FAILURES failures from all addresses within the
  window (a spread-out attack on one account), except from addresses the user logged in
  from before (voxcast.accounts.login_sessions): that caps guessing without locking the owner out.
A username that does not exist is counted exactly like a real one, so neither the messages
nor the limits tell an attacker which usernames exist. The address is request.remote_addr,
which is the client's only when a trusted proxy's header is honoured (webui.security).
State lives in the database because the web UI runs threaded under waitress and may run as
several processes."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from models import User, database
from models.entities import LoginFailure, utcnow

from voxcast.accounts import login_sessions

MAX_USER_FAILURES = 5
LOCK_MINUTES = 15  # at most WINDOW_MINUTES: failures older than the window are deleted
MAX_IP_FAILURES = 20
MAX_NAME_FAILURES = 100
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


def _failures(now: dt.datetime, **match) -> list[dt.datetime]:
    """Failures within the window matching the given columns, newest first."""
    query = LoginFailure.select(LoginFailure.created_at).where(
        LoginFailure.created_at > _window_start(now))
    for column, value in match.items():
        query = query.where(getattr(LoginFailure, column) == value)
    return [row.created_at for row in query.order_by(LoginFailure.created_at.desc())]


def _over(times: list[dt.datetime], limit: int, minutes: int, now: dt.datetime
          ) -> Throttled | None:
    """Refused while `limit` failures are within the window: free again when enough of them
    have aged out, `minutes` after the limit-th newest one."""
    if len(times) < limit:
        return None
    return Throttled(_minutes_until(times[limit - 1] + dt.timedelta(minutes=minutes), now))


def check(username: str, ip: str, user: User | None, now: dt.datetime | None = None
          ) -> Throttled | None:
    """Whether this attempt must be refused before the password is even checked."""
    now = now or utcnow()
    username = username[:150]
    if (refused := _over(_failures(now, ip=ip), MAX_IP_FAILURES, WINDOW_MINUTES, now)):
        return refused
    if (refused := _over(_failures(now, ip=ip, username=username), MAX_USER_FAILURES,
                         LOCK_MINUTES, now)):
        return refused
    name = _failures(now, username=username)
    if len(name) >= MAX_NAME_FAILURES and not (
            user is not None and login_sessions.is_known_address(user.id, ip, now)):
        return _over(name, MAX_NAME_FAILURES, WINDOW_MINUTES, now)
    return None


def record_failure(username: str, ip: str, user: User | None,
                   now: dt.datetime | None = None) -> Throttled | None:
    """Count a failed attempt; returns Throttled when this failure locked the (name, address)
    pair. Known and unknown usernames count the same way. A real account mirrors its count
    over all addresses into User.failed_logins and the latest lock's end into
    User.locked_until, for administrators to see; neither decides anything."""
    now = now or utcnow()
    username = username[:150]
    with database.atomic():
        LoginFailure.delete().where(LoginFailure.created_at <= _window_start(now)).execute()
        LoginFailure.create(ip=ip, username=username, created_at=now)
        locked = len(_failures(now, ip=ip, username=username)) >= MAX_USER_FAILURES
        if user is not None:
            changes = {User.failed_logins: len(_failures(now, username=username))}
            if locked:
                changes[User.locked_until] = now + dt.timedelta(minutes=LOCK_MINUTES)
            User.update(changes).where(User.id == user.id).execute()
    return Throttled(LOCK_MINUTES) if locked else None


def record_success(user: User, ip: str) -> None:
    """A correct password ends the run of failures from this address. The address's failures
    stay counted (an attacker holding one valid account must not be able to reset them), and
    so do the account's failures from elsewhere (an attack that is still going on)."""
    with database.atomic():
        LoginFailure.update(username="").where(LoginFailure.username == user.username,
                                               LoginFailure.ip == ip).execute()
        left = LoginFailure.select().where(LoginFailure.username == user.username).count()
        User.update(failed_logins=left, locked_until=None).where(User.id == user.id).execute()


def unlock(user: User) -> None:
    """Clear an account's failures from every address (by an administrator)."""
    with database.atomic():
        LoginFailure.update(username="").where(LoginFailure.username == user.username).execute()
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
