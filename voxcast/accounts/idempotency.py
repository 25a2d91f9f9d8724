"""Idempotency keys for the writes of /api/v1 (IdempotencyKey rows), Flask-free.

A client that sends a write with an `Idempotency-Key` header may send it again (a timeout, a
retried cron job, WHMCS re-running a module command) and get the first answer back without
the work being done twice. The first request claims the key (a row unique per API key,
committed before the work starts), the web layer stores its response with finish(), and a
later request with the same key and the same method, path and body gets that response back.
The same key with another request is refused (KeyReused); while the first one still runs a
second one is refused too (InProgress), so two copies of one call never run side by side.
A failure on our side (5xx, an exception) releases the key: the client may try again.

A claim left behind by a process that died mid-request is taken over after STALE_AFTER."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from peewee import IntegrityError

from models import database
from models.entities import IdempotencyKey, utcnow
from voxcast.errors import ServiceError

MAX_KEY_LENGTH = 255
KEEP_DAYS = 7  # voxcast.packages.subscriptions.sweep purges older rows
# A request running longer than this is taken for dead (its process crashed before it could
# store or release its claim); the key may then be used again.
STALE_AFTER = dt.timedelta(minutes=10)


class IdempotencyError(ServiceError):
    code, status = "idempotency", 409


class InvalidKey(IdempotencyError):
    code, status = "invalid-idempotency-key", 400


class KeyReused(IdempotencyError):
    code, status = "idempotency-key-reused", 422


class InProgress(IdempotencyError):
    code, status = "idempotency-in-progress", 409


@dataclass(frozen=True)
class Stored:
    """The first request's answer, to send again."""
    status: int
    body: str
    content_type: str


def check_key(key: str) -> str:
    """The key as given, or InvalidKey: 1 to 255 visible ASCII characters."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    if any(not 33 <= ord(ch) <= 126 for ch in key):
        raise InvalidKey("The Idempotency-Key may hold only visible ASCII characters "
                         "(no spaces).")
    return key


def _canonical(body: bytes) -> bytes:
    """A JSON body with its keys sorted and no spacing, so the same object sent with another
    key order or layout is the same request; anything else as it came."""
    if not body:
        return b""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        return body


def fingerprint(method: str, path: str, query: bytes | str, body: bytes) -> str:
    """SHA-256 over the method, the path with its query string and the (canonical) body."""
    if isinstance(query, str):
        query = query.encode()
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query or b"", _canonical(body)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def work_ref(api_key_id: int, key: str, method: str, path: str, query: bytes | str,
             body: bytes) -> str:
    """A name for the work of this request that stays the same across every retry of it
    (whatever became of its claim row), for writes that must happen once even when a crash
    fell between the work and finish(): the ledger keeps one entry per such name (a
    payment's message_ref). 45 characters."""
    digest = hashlib.sha256(f"{api_key_id}\0{key}\0".encode()
                            + fingerprint(method, path, query, body).encode()).hexdigest()
    return "idem:" + digest[:40]


def claim(api_key_id: int, key: str, method: str, path: str, query: bytes | str, body: bytes,
          now: dt.datetime | None = None) -> int | Stored:
    """Claim `key` for this request: the claim's id (do the work, then finish() or
    release()), or the Stored answer of the first request with the same key and request.
    Raises InvalidKey, KeyReused (another request used the key) or InProgress."""
    check_key(key)
    method = method.upper()
    digest = fingerprint(method, path, query, body)
    for _ in range(3):  # a claim released between our insert and our read: insert again
        now = now or utcnow()
        try:
            with database.atomic():
                return IdempotencyKey.create(api_key=api_key_id, key=key, method=method,
                                             path=path[:500], body_hash=digest,
                                             created_at=now).id
        except IntegrityError:
            pass
        row = IdempotencyKey.get_or_none(IdempotencyKey.api_key == api_key_id,
                                         IdempotencyKey.key == key)
        if row is None:
            continue
        if (row.method, row.path, row.body_hash) != (method, path[:500], digest):
            raise KeyReused("This Idempotency-Key was used for another request; use a new "
                            "key for a new request.")
        if row.status is not None:
            return Stored(row.status, row.response, row.content_type)
        if now - row.created_at < STALE_AFTER:
            raise InProgress("A request with this Idempotency-Key is still being processed; "
                             "retry later.")
        taken = (IdempotencyKey.update(created_at=now)
                 .where(IdempotencyKey.id == row.id, IdempotencyKey.status.is_null(),
                        IdempotencyKey.created_at == row.created_at).execute())
        if taken == 1:
            return row.id
        raise InProgress("A request with this Idempotency-Key is still being processed; "
                         "retry later.")
    raise InProgress("A request with this Idempotency-Key is still being processed; "
                     "retry later.")


def finish(claim_id: int, status: int, body: str, content_type: str) -> None:
    """Store the answer of the claimed request, for its replays."""
    (IdempotencyKey.update(status=status, response=body,
                           content_type=(content_type or "application/json")[:255])
     .where(IdempotencyKey.id == claim_id, IdempotencyKey.status.is_null()).execute())


def release(claim_id: int) -> None:
    """Give the key up (the request failed on our side): the client may send it again."""
    IdempotencyKey.delete().where(IdempotencyKey.id == claim_id,
                                  IdempotencyKey.status.is_null()).execute()


def purge(now: dt.datetime | None = None, days: int = KEEP_DAYS) -> int:
    """Forget keys older than `days`; how many rows went."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    return IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
