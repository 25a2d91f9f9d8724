"""When a failed delivery is tried again: a deterministic schedule (no jitter, so tests and
receivers can rely on it): `base_s` after the first failure, doubling, at most `cap_s`
between tries; after `max_attempts` attempts the delivery is given up ("failed").

With the defaults (10 s doubling to 1 h, 16 attempts) the tries are 10 s, 20 s, 40 s, ...
after each other, the last about 11 hours after the first: a receiver that is down for an
evening still gets everything. Deliveries to one endpoint are independent: one failing event
does not hold the others back."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    base_s: float = 10.0
    cap_s: float = 3600.0
    max_attempts: int = 16

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
        if attempts < 1:
            return 0.0
        return min(self.cap_s, self.base_s * 2 ** min(attempts - 1, 40))

    def next_attempt(self, attempts: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after `attempts` failed attempts; None: give up."""
        if attempts >= self.max_attempts:
            return None
        return now + dt.timedelta(seconds=self.delay(attempts))

    def delays(self) -> list[float]:
        return [self.delay(n) for n in range(1, self.max_attempts)]

    @classmethod
    def from_env(cls) -> "Schedule":
        """VOXCAST_WEBHOOK_RETRY_BASE_S / _CAP_S / VOXCAST_WEBHOOK_MAX_ATTEMPTS (tests
        shorten the schedule; production keeps the defaults)."""
        return cls(base_s=float(os.environ.get("VOXCAST_WEBHOOK_RETRY_BASE_S", cls.base_s)),
                   cap_s=float(os.environ.get("VOXCAST_WEBHOOK_RETRY_CAP_S", cls.cap_s)),
                   max_attempts=int(os.environ.get("VOXCAST_WEBHOOK_MAX_ATTEMPTS",
                                                   cls.max_attempts)))
