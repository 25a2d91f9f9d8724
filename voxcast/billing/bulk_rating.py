"""Rating many CDRs at once (re-rating a period, CDR imports, the benchmark) with numpy: the
longest-prefix match becomes, per prefix length, one array look-up over all the numbers.

Same results as RateTable.rate_many (integer ten-thousandths), which it falls back to for
numbers shorter than the table's longest prefix."""
from __future__ import annotations

import numpy as np

from .rating import RateTable

DIRECT_MAX = 7  # prefix lengths up to this use a direct array (10**7 int32 = 40 MB at most)


class BulkRater:
    def __init__(self, table: RateTable):
        self.table = table
        rates = table.rates()
        self.width = max((len(r.prefix.lstrip("+")) for r in rates), default=1)
        self._fee = np.array([r._fee_micro for r in rates], dtype=np.int64)
        self._pm = np.array([r._pm_micro for r in rates], dtype=np.int64)
        self._initial = np.array([r.initial_s for r in rates], dtype=np.int64)
        self._inc = np.array([r.increment_s for r in rates], dtype=np.int64)
        # Per prefix length, shortest first: a direct array indexed by the prefix's value for
        # short lengths, sorted keys for a binary search for long ones.
        by_len: dict[int, list[tuple[int, int]]] = {}
        for i, r in enumerate(rates):
            p = r.prefix.lstrip("+")
            by_len.setdefault(len(p), []).append((int(p), i))
        self._levels = []
        for length in sorted(by_len):
            pairs = sorted(by_len[length])
            keys = np.array([k for k, _ in pairs], dtype=np.int64)
            idx = np.array([i for _, i in pairs], dtype=np.int32)
            if length <= DIRECT_MAX:
                direct = np.full(10 ** length, -1, dtype=np.int32)
                direct[keys] = idx
                self._levels.append((length, direct, None))
            else:
                self._levels.append((length, keys, idx))
        # Which DIRECT_MAX-digit heads have longer prefixes under them: only those numbers
        # need the binary searches of the long levels.
        long_keys = [k // 10 ** (ln - DIRECT_MAX) for ln, k, i in self._levels if i is not None]
        self._has_long = None
        if long_keys:
            self._has_long = np.zeros(10 ** DIRECT_MAX, dtype=bool)
            self._has_long[np.concatenate(long_keys)] = True

    def rate(self, numbers: list[str], billsecs) -> np.ndarray:
        """Cost of each call in ten-thousandths; -1 where no rate covers the number."""
        n = len(numbers)
        w = self.width
        billsec = np.asarray(billsecs, dtype=np.int64)
        # ASCII bytes, one row per number. The first w digits after an optional '+' are read
        # column by column; after column L the running integer is the number's L-digit head,
        # looked up at once in that length's direct array (longer prefixes overwrite).
        try:
            chars = np.array(numbers, dtype=f"S{w + 1}").view(np.uint8).reshape(n, w + 1)
        except UnicodeEncodeError:  # not E.164 at all: let the exact path sort it out
            return np.array([-1 if u is None else u for u in self.table.rate_many(
                zip(numbers, (int(b) for b in billsec)))], dtype=np.int64)
        plus = chars[:, 0] == 43
        all_plus = bool(plus.all())
        direct = {length: keys for length, keys, rate_idx in self._levels if rate_idx is None}
        head = np.zeros(n, dtype=np.int64)
        short = np.zeros(n, dtype=bool)  # fewer than w digits (or not digits): slow path
        idx = np.full(n, -1, dtype=np.int32)
        for j in range(w):
            col = chars[:, j + 1] if all_plus else np.where(plus, chars[:, j + 1], chars[:, j])
            digit = col.astype(np.int64) - 48
            short |= (digit < 0) | (digit > 9)
            head *= 10
            head += digit
            keys = direct.get(j + 1)
            if keys is not None:
                found = keys[np.where(short, 0, head)]
                np.copyto(idx, found, where=found >= 0)
        head[short] = 0
        candidates = None
        for length, keys, rate_idx in self._levels:  # the long levels: binary searches
            if rate_idx is None:
                continue
            if candidates is None:
                candidates = np.nonzero(self._has_long[head // 10 ** (w - DIRECT_MAX)])[0]
            value = head[candidates] // (10 ** (w - length))
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
