"""Signing a webhook: X-Voxcast-Signature = "sha256=" + hex HMAC-SHA256(secret,
f"{timestamp}.{body}"), X-Voxcast-Timestamp = the Unix time of the attempt. A receiver
recomputes it over the timestamp header and the raw body, compares in constant time and
refuses old timestamps (replays); `verify` does exactly that and is what a receiver in
Python may copy."""
from __future__ import annotations

import hashlib
import hmac
import time

PREFIX = "sha256="
TOLERANCE_S = 300  # a receiver's usual window for the timestamp


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    mac = hmac.new(_bytes(secret), _bytes(f"{timestamp}.") + _bytes(body), hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: int | str, body: str | bytes, signature: str, *,
           tolerance_s: int | None = TOLERANCE_S, now: float | None = None) -> bool:
    """The signature is right and (unless tolerance_s is None) the timestamp recent."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if tolerance_s is not None and abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


def headers(secret: str, *, event: str, event_id: str, body: str | bytes,
            timestamp: int | None = None) -> dict[str, str]:
    """The headers of one attempt (a new timestamp each attempt, the same event id)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"Content-Type": "application/json", "User-Agent": "voxcast-webhooks/1",
            "X-Voxcast-Event": event, "X-Voxcast-Delivery": event_id,
            "X-Voxcast-Timestamp": str(ts), "X-Voxcast-Signature": sign(secret, ts, body)}
