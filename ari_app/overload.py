"""Refusing new inbound calls while the app is behind, so that past its limit it degrades
(the calls it takes still work, the others get busy at once) instead of collapsing: without
it every call is admitted, each waits longer than the one before, and past a point nearly all
of them time out (54 % failed one step past the peak).

"Behind" is read from each StasisStart itself: Asterisk stamps it when the channel enters
Stasis, so its age when our handler runs is the whole backlog (Asterisk's queue to us, the
socket, our event loop). A refused call costs one hang-up and no database work, so the
backlog drains and calls are taken again: no state to reset."""
from __future__ import annotations

import logging
import time

from ari_app.events import Event, age

log = logging.getLogger("voxcast.overload")

MAX_SETUP_AGE_S = 1.0  # a caller hears the answer this long after entering Stasis, at worst
LOG_EVERY_S = 5.0


class Overload:
    def __init__(self, max_age: float = MAX_SETUP_AGE_S):
        self.max_age = max_age
        self.refused = 0  # since start
        self._unlogged = 0
        self._logged_at = 0.0

    def behind(self, event: Event) -> bool:
        """Should this new call be refused? Counts and logs (at most every LOG_EVERY_S) if so."""
        late = age(event)
        if late <= self.max_age:
            return False
        self.refused += 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning("behind by %.1f s: refused %d new inbound calls busy (%d since start)",
                        late, self._unlogged, self.refused)
            self._unlogged, self._logged_at = 0, now
        return True

