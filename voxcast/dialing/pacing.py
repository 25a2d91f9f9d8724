"""How many calls the dialer may place now, from every limit that applies."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal

# Voice Agent campaigns: lines dialled per ready agent (Campaign.dial_ratio).
MIN_DIAL_RATIO = Decimal("1.0")
MAX_DIAL_RATIO = Decimal("3.0")


def free_slots(campaign_limit: int, campaign_active: int, tenant_limit: int, tenant_active: int,
               global_limit: int, global_active: int) -> int:
    """No limit is ever exceeded: the smallest headroom wins, never below zero."""
    return max(0, min(campaign_limit - campaign_active, tenant_limit - tenant_active,
                      global_limit - global_active))


def agent_lines(dial_ratio, ready_agents: int, live_calls: int) -> int:
    """How many more calls a Voice Agent campaign may dial now: floor(ratio x ready agents)
    lines in all, less the campaign's calls still looking for an agent (ringing, in AMD or
    waiting for one). A call already bridged is not counted: its agent is no longer ready.

    The ratio is taken as a decimal (1.15 x 20 is 23 lines, where floats give 22), clamped to
    1.0-3.0 so a bad row can never over-dial; never below zero."""
    ratio = min(MAX_DIAL_RATIO, max(MIN_DIAL_RATIO, Decimal(str(dial_ratio))))
    total = math.floor(ratio * max(0, int(ready_agents)))
    return max(0, total - max(0, int(live_calls)))


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
