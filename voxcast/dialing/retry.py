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
    machine: int = 0

    def retries_for(self, disposition: str) -> int:
        return {
            "BUSY": self.busy,
            "NO ANSWER": self.no_answer,
            "FAILED": self.failed,
            "CONGESTION": self.failed,
            "MACHINE": self.machine,
        }.get(disposition, 0)


@dataclass(frozen=True)
class Outcome:
    state: str  # "done" | "pending" (retry later) | "failed"
    next_attempt_at: dt.datetime | None = None


def decide(disposition: str, attempts: int, policy: RetryPolicy, now: dt.datetime,
           message_left: bool = False) -> Outcome:
    """`attempts` counts the attempt just finished. Retries are attempts beyond the first.
    `message_left`: a machine heard the message (amd_action leave_message), which is done."""
    if disposition == "ANSWERED" or (disposition == "MACHINE" and message_left):
        return Outcome("done")
    if disposition == "NOT PLACED":
        return Outcome("pending", now)
    if attempts <= policy.retries_for(disposition):
        return Outcome("pending", now + dt.timedelta(seconds=policy.interval_s))
    return Outcome("failed")
