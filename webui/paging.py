"""Page through a peewee select with ?page=N, fetching one extra row to know if there is more."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @classmethod
    def from_request(cls, query, per_page: int) -> "Page":
        number = max(request.args.get("page", 1, type=int) or 1, 1)
        rows = list(query.limit(per_page + 1).offset((number - 1) * per_page))
        return cls(items=rows[:per_page], number=number, has_next=len(rows) > per_page)
