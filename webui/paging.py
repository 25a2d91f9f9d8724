"""Page through a peewee select with ?page=N, fetching one extra row to know if there is more;
filter a list by ?q= (the search box of every list that can grow)."""
from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from flask import request

from .params import arg_int

MAX_SEARCH = 100


def search_arg() -> str:
    """?q=, trimmed and bounded."""
    return (request.args.get("q") or "").strip()[:MAX_SEARCH]


def matching(query, q: str, *fields):
    """`query` narrowed to rows where any of `fields` contains `q` (case-insensitive: ILIKE on
    PostgreSQL, LIKE on SQLite); all rows when q is empty. Always a bound parameter."""
    if not q:
        return query
    return query.where(reduce(operator.or_, (field.contains(q) for field in fields)))


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @classmethod
    def from_request(cls, query, per_page: int, arg: str = "page") -> "Page":
        """`arg`: the query argument, for a second list on the same page."""
        return cls.from_slices(lambda limit, offset: list(query.limit(limit).offset(offset)),
                               per_page, arg)

    @classmethod
    def from_slices(cls, rows, per_page: int, arg: str = "page") -> "Page":
        """The same page from `rows(limit, offset)`, e.g. a cached statement's
        (models.cached_sql.ScopedList.slice)."""
        number = arg_int(arg, 1)
        found = rows(per_page + 1, (number - 1) * per_page)
        return cls(items=found[:per_page], number=number, has_next=len(found) > per_page)
