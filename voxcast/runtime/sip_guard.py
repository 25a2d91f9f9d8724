"""Failed SIP authentication, throttled per source address, fail2ban-style but inside Asterisk.

Asterisk (res_security_log) writes its security events to the `security` log channel
(logger.conf: <astlogdir>/security.log). The Stasis app tails that file (`watch`); every
ChallengeResponseFailed / InvalidPassword event counts one failure against its RemoteAddress
(a wrong password for a real extension, or any password for an unknown one: Asterisk answers
unknown accounts with the same challenge). `Policy.max_failures` failures within
`Policy.window` ban the address for `Policy.ban`: a PJSIP ACL (`deny=`) in the rendered
pjsip_voxcast_bans.conf, applied with a res_pjsip reload, so a banned address gets 403 to
everything before any credential is looked at. No host firewall is touched.

The counts and bans live in the database (models.SipBan), so they survive restarts, are the
same for the Stasis app and the web UI (which shows and lifts them), and Asterisk's start-up
renders them (voxcast.runtime.asterisk.render). The trunk's own addresses are never banned: that
would cut the PSTN, and they are trusted by address anyway."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from models import database
from models.entities import SipBan, utcnow
from voxcast.config import Settings

log = logging.getLogger("voxcast.sip_guard")

FILENAME = "pjsip_voxcast_bans.conf"
ACL_NAME = "voxcast-bans"
# A wrong credential, for a known account or an unknown one. InvalidAccountID alone (a request
# that never answered the challenge) guesses no password and is not counted.
FAILURE_EVENTS = frozenset({"ChallengeResponseFailed", "InvalidPassword"})
_FIELD = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=10)
    ban: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_env(cls) -> "Policy":
        """VOXCAST_SIP_BAN_FAILURES, VOXCAST_SIP_BAN_WINDOW and VOXCAST_SIP_BAN_SECONDS (s)."""
        base = cls()
        env = os.environ
        return cls(
            max_failures=max(1, int(env.get("VOXCAST_SIP_BAN_FAILURES", base.max_failures))),
            window=dt.timedelta(seconds=int(env.get("VOXCAST_SIP_BAN_WINDOW",
                                                    base.window.total_seconds()))),
            ban=dt.timedelta(seconds=int(env.get("VOXCAST_SIP_BAN_SECONDS",
                                                 base.ban.total_seconds()))))


# -- reading Asterisk's security events ---------------------------------------------------

@dataclass(frozen=True)
class Failure:
    address: str
    account: str
    at: dt.datetime  # naive UTC, like every timestamp in the database


def _event_time(value: str) -> dt.datetime | None:
    try:  # EventTV="2026-12-01T22:54:57.365+0000"
        at = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
    return at.astimezone(dt.timezone.utc).replace(tzinfo=None)


def parse_failure(line: str) -> Failure | None:
    """A failed authentication from one security log line, or None for any other line."""
    if "SecurityEvent=" not in line:
        return None
    fields = dict(_FIELD.findall(line))
    if fields.get("SecurityEvent") not in FAILURE_EVENTS:
        return None
    parts = fields.get("RemoteAddress", "").split("/")  # IPV4/UDP/127.0.0.2/15501
    if len(parts) < 4:
        return None
    try:
        address = str(ipaddress.ip_address(parts[2]))
    except ValueError:
        return None
    return Failure(address, fields.get("AccountID", "")[:80],
                   _event_time(fields.get("EventTV", "")) or utcnow())


class SecurityLog:
    """What Asterisk appended to its security log since the last read, whole lines only.
    Starts at the end (events from before the watcher started were counted by its previous
    run, or are too old to matter) and starts over when the file is rotated or truncated."""

    def __init__(self, path: Path, from_end: bool = True):
        self.path = path
        self.inode: int | None = None
        self.offset = 0
        self.partial = b""
        if from_end and path.exists():
            st = path.stat()
            self.inode, self.offset = st.st_ino, st.st_size

    def read_new(self) -> list[str]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        if st.st_ino != self.inode or st.st_size < self.offset:
            self.inode, self.offset, self.partial = st.st_ino, 0, b""
        if st.st_size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        data = self.partial + data
        *lines, self.partial = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]


def log_path(settings: Settings) -> Path:
    return settings.host_path(settings.ast_var) / "log" / "security.log"


# -- counting and banning (pure) ------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    """One address's standing: failures in the current window and its ban, if any."""
    failures: int = 0
    first_failure_at: dt.datetime | None = None
    banned_until: dt.datetime | None = None

    def banned(self, now: dt.datetime) -> bool:
        return self.banned_until is not None and self.banned_until > now


def count_failure(count: Count, at: dt.datetime, policy: Policy) -> Count:
    """The standing after one more failure at `at`. A window opens at the first failure and
    lasts policy.window; reaching max_failures within it bans until at + policy.ban."""
    if count.banned(at):
        return replace(count, failures=count.failures + 1)
    if count.first_failure_at is None or at - count.first_failure_at > policy.window:
        count = Count(failures=1, first_failure_at=at)
    else:
        count = replace(count, failures=count.failures + 1, banned_until=None)
    if count.failures >= policy.max_failures:
        count = replace(count, banned_until=at + policy.ban)
    return count


def exempt(settings: Settings, address: str) -> bool:
    """The trunk's addresses (host and VOXCAST_TRUNK_ALLOW; addresses or networks, a host
    name cannot be compared) are never banned."""
    ip = ipaddress.ip_address(address)
    for entry in settings.trunk_addresses:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


# -- the database ---------------------------------------------------------------------------

def record(failures: list[Failure], settings: Settings, policy: Policy,
           now: dt.datetime | None = None) -> bool:
    """Count these failures, lift expired bans, forget quiet addresses. Returns whether the
    set of banned addresses changed (the ACL must be rewritten)."""
    now = now or utcnow()
    changed = False
    with database.atomic():
        for failure in failures:
            if exempt(settings, failure.address):
                continue
            row = SipBan.get_or_none(SipBan.address == failure.address)
            before = Count(row.failures, row.first_failure_at, row.banned_until) if row else Count()
            after = count_failure(before, failure.at, policy)
            fields = {"failures": after.failures, "first_failure_at": after.first_failure_at,
                      "last_failure_at": failure.at, "last_account": failure.account,
                      "banned_until": after.banned_until}
            if after.banned(failure.at) and not before.banned(failure.at):
                fields["banned_at"] = failure.at
                changed = True
                log.warning("SIP address %s banned until %s UTC after %s failed "
                            "authentications (last account %r)", failure.address,
                            after.banned_until, after.failures, failure.account)
            if row is None:
                SipBan.create(address=failure.address, **fields)
            else:
                SipBan.update(fields).where(SipBan.id == row.id).execute()
        changed |= expire(now) > 0
        SipBan.delete().where(SipBan.banned_until.is_null(),
                              SipBan.last_failure_at < now - policy.window).execute()
    return changed


def expire(now: dt.datetime | None = None) -> int:
    """Lift bans whose time is up; their count starts over. Returns how many."""
    now = now or utcnow()
    lifted = (SipBan.update(banned_until=None, banned_at=None, failures=0)
              .where(SipBan.banned_until <= now).execute())
    if lifted:
        log.info("%s SIP ban(s) expired", lifted)
    return lifted


def banned(now: dt.datetime | None = None) -> list[str]:
    now = now or utcnow()
    return [row.address for row in SipBan.select(SipBan.address)
            .where(SipBan.banned_until > now).order_by(SipBan.address)]


def unban(ban_id: int) -> SipBan | None:
    """Forget an address entirely (ban and count); the caller applies the ACL."""
    row = SipBan.get_or_none(SipBan.id == ban_id)
    if row is not None:
        row.delete_instance()
        log.info("SIP address %s unbanned", row.address)
    return row


# -- the ACL Asterisk enforces ----------------------------------------------------------

def render_text(addresses: list[str]) -> str:
    out = ["; Generated by voxcast.runtime.sip_guard from the database: addresses banned after repeated",
           "; failed SIP authentication. Do not edit; changes are overwritten.", ""]
    denies = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            log.warning("ban of %r skipped: not an IP address", address)
            continue
        denies.append(f"deny = {ip}/{ip.max_prefixlen}")
    if denies:
        out += [f"[{ACL_NAME}]", "type = acl", *denies, ""]
    return "\n".join(out)


def write(settings: Settings) -> bool:
    """Render the ACL from the database; returns whether the file changed."""
    from voxcast.runtime import pjsip_sync
    text = render_text(pjsip_sync.from_database(settings, banned, []))
    path = settings.host_path(settings.ast_etc) / FILENAME
    if path.exists() and path.read_text() == text:
        return False
    pjsip_sync.write(settings, text, FILENAME)
    return True


def apply(settings: Settings) -> bool:
    """Rewrite the ACL from the database and, when it changed and Asterisk is up, reload
    res_pjsip; returns whether it was reloaded."""
    from voxcast.runtime import asterisk
    if not write(settings) or asterisk.ari_info(settings, timeout=1.0) is None:
        return False
    out = asterisk.cli(settings, "module reload res_pjsip.so")
    log.info("SIP bans applied: %s", out.strip())
    return True


async def watch(settings: Settings, run_db, every: float = 1.0,
                housekeeping: float = 30.0) -> None:
    """The Stasis app's task: tail the security log every `every` seconds and count what
    failed; expire bans every `housekeeping` seconds (the database is written only then or
    when something failed). `run_db(fn, *args)` runs fn on the app's database thread. The
    first pass brings the ACL in line with the database (bans that ended while it was down)."""
    policy = Policy.from_env()
    tail = SecurityLog(log_path(settings))
    loop = asyncio.get_running_loop()
    next_housekeeping = 0.0
    while True:
        try:
            lines = await asyncio.to_thread(tail.read_new)
            failures = [f for f in map(parse_failure, lines) if f is not None]
            due = loop.time() >= next_housekeeping
            if failures or due:
                if await run_db(record, failures, settings, policy) or due:
                    await asyncio.to_thread(apply, settings)  # reloads only on a change
            if due:
                next_housekeeping = loop.time() + housekeeping
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SIP guard pass failed; retrying")
        await asyncio.sleep(every)
