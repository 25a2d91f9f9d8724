"""How many calls the dialer may place now, from every limit that applies."""
from __future__ import annotations

import time
from dataclasses import dataclass


def free_slots(campaign_limit: int, campaign_active: int, tenant_limit: int, tenant_active: int,
               global_limit: int, global_active: int) -> int:
    """No limit is ever exceeded: the smallest headroom wins, never below zero."""
    return max(0, min(campaign_limit - campaign_active, tenant_limit - tenant_active,
                      global_limit - global_active))


@dataclass
class TokenBucket:
    """Calls-per-second cap; `take(n)` returns how many of n may start now."""
    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float = 0.0

    def __post_init__(self):
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def take(self, wanted: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return max(0, granted)

    def give_back(self, unused: int) -> None:
        """Tokens taken for calls that were not placed (nothing due) return to the bucket."""
        if unused > 0:
            self.tokens = min(self.burst, self.tokens + unused)
