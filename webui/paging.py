"""Page through a peewee select with ?page=N, fetching one extra row to know if there is more."""
from __future__ import annotations

from dataclasses import dataclass

from .params import arg_int


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
        number = arg_int("page", 1)
        rows = list(query.limit(per_page + 1).offset((number - 1) * per_page))
        return cls(items=rows[:per_page], number=number, has_next=len(rows) > per_page)
