"""What happens to a campaign contact after an attempt: done, retried later, or given up."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    busy: int = 2
    no_answer: int = 2
    failed: int = 0
    interval_s: int = 300

    def retries_for(self, disposition: str) -> int:
        return {
            "BUSY": self.busy,
            "NO ANSWER": self.no_answer,
            "FAILED": self.failed,
            "CONGESTION": self.failed,
        }.get(disposition, 0)


@dataclass(frozen=True)
class Outcome:
    state: str  # "done" | "pending" (retry later) | "failed"
    next_attempt_at: dt.datetime | None = None


def decide(disposition: str, attempts: int, policy: RetryPolicy, now: dt.datetime) -> Outcome:
    """`attempts` counts the attempt just finished. Retries are attempts beyond the first."""
    if disposition == "ANSWERED":
        return Outcome("done")
    if attempts <= policy.retries_for(disposition):
        return Outcome("pending", now + dt.timedelta(seconds=policy.interval_s))
    return Outcome("failed")
