"""Rating many CDRs at once (re-rating a period, CDR imports, the benchmark) with numpy.

The longest-prefix match for prefixes of up to DIRECT_MAX digits is folded, once per table,
into one array indexed by a number's first DIRECT_MAX digits: each slot holds the longest
such prefix covering it. Rating is then one gather per number, plus binary searches for the
few numbers that sit under a longer prefix.

Same results as RateTable.rate_many (integer ten-thousandths), which it falls back to for
numbers shorter than the table's longest prefix or not made of digits."""
from __future__ import annotations

import numpy as np

from .rating import RateTable

DIRECT_MAX = 7  # digits folded into the direct array (10**7 int32 = 40 MB at most)


class BulkRater:
    def __init__(self, table: RateTable):
        self.table = table
        rates = table.rates()
        self.width = max((len(r.prefix.lstrip("+")) for r in rates), default=1)
        self.direct_digits = min(self.width, DIRECT_MAX)
        self._fee = np.array([r._fee_micro for r in rates], dtype=np.int64)
        self._pm = np.array([r._pm_micro for r in rates], dtype=np.int64)
        self._initial = np.array([r.initial_s for r in rates], dtype=np.int64)
        self._inc = np.array([r.increment_s for r in rates], dtype=np.int64)
        by_len: dict[int, list[tuple[int, int]]] = {}
        for i, r in enumerate(rates):
            p = r.prefix.lstrip("+")
            by_len.setdefault(len(p), []).append((int(p), i))
        d = self.direct_digits
        # Shorter prefixes first, so a longer one overwrites the slots it narrows.
        self._direct = np.full(10 ** d, -1, dtype=np.int32)
        self._long = []  # (length, sorted keys, rate index) for prefixes longer than d
        for length in sorted(by_len):
            pairs = sorted(by_len[length])
            keys = np.array([k for k, _ in pairs], dtype=np.int64)
            idx = np.array([i for _, i in pairs], dtype=np.int32)
            if length <= d:
                span = 10 ** (d - length)
                if span == 1:
                    self._direct[keys] = idx
                else:
                    view = self._direct.reshape(10 ** length, span)
                    view[keys] = idx[:, None]
            else:
                self._long.append((length, keys, idx))
        # Which d-digit heads have longer prefixes under them: only those numbers need the
        # binary searches.
        self._has_long = np.zeros(10 ** d, dtype=bool)
        for length, keys, _ in self._long:
            self._has_long[keys // 10 ** (length - d)] = True

    def rate(self, numbers: list[str], billsecs) -> np.ndarray:
        """Cost of each call in ten-thousandths; -1 where no rate covers the number."""
        n = len(numbers)
        w, d = self.width, self.direct_digits
        billsec = np.asarray(billsecs, dtype=np.int64)
        try:
            chars = np.array(numbers, dtype=f"S{w + 1}").view(np.uint8).reshape(n, w + 1)
        except UnicodeEncodeError:  # not E.164 at all: let the exact path sort it out
            return np.array([-1 if u is None else u for u in self.table.rate_many(
                zip(numbers, (int(b) for b in billsec)))], dtype=np.int64)
        plus = chars[:, 0] == 43
        if plus.all():
            digits = chars[:, 1:]
        else:
            digits = np.where(plus[:, None], chars[:, 1:], chars[:, :w])
        # The first w digits as an integer, column by column; any byte that is not 0-9
        # (wrapped past 9 by the subtraction) sends the number to the exact path.
        head = np.zeros(n, dtype=np.int64 if w > 9 else np.int32)
        short = np.zeros(n, dtype=bool)
        for j in range(w):
            col = digits[:, j] - np.uint8(48)
            short |= col > 9
            head *= 10
            head += col
        head[short] = 0
        top = head // 10 ** (w - d) if w > d else head
        idx = self._direct[top]
        if self._long:
            candidates = np.nonzero(self._has_long[top])[0]
            if len(candidates):
                sub = head[candidates]
                for length, keys, rate_idx in self._long:  # shortest first: longer overwrite
                    value = sub // 10 ** (w - length)
                    pos = np.searchsorted(keys, value)
                    pos[pos == len(keys)] = 0
                    hit = keys[pos] == value
                    idx[candidates[hit]] = rate_idx[pos[hit]]
        out = np.full(n, -1, dtype=np.int64)
        ok = idx >= 0
        r = idx[ok]
        b = billsec[ok]
        first = self._initial[r]
        inc = self._inc[r]
        first = first + (-(-np.maximum(b - first, 0) // inc)) * inc
        units = ((self._fee[r] * 60 + self._pm[r] * first) * 2 + 6000) // 12000
        units[b <= 0] = 0
        out[ok] = units
        if short.any():
            slow = np.nonzero(short)[0]
            costs = self.table.rate_many([(numbers[i], int(billsec[i])) for i in slow])
            out[slow] = [-1 if u is None else u for u in costs]
        return out
