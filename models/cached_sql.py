"""SELECTs that run on every web request, their SQL text built by Peewee once per database.

Peewee builds a query's SQL anew each time it runs, and for the few statements every request
makes (the session's user and tenant, its login session, an API key) building cost more than
running them. A `CachedSelect` is written as an ordinary Peewee query by a function of its
parameters; the first run on a database calls it with `samples` (distinct values of the
parameters' types), finds where each sample lands among the query's parameters, and keeps
the text. Later runs bind the real values in those places and convert each column with its
field's python_value, as Peewee does. So the SQL is always Peewee's own for this database
(SQLite or PostgreSQL), never written by hand (tests/unit/test_cached_sql.py compares the
rows with the plain query's)."""
from __future__ import annotations

import weakref

from peewee import Field, Model

from .db import database


class CachedSelect:
    def __init__(self, build, samples: tuple):
        self.build = build
        self.samples = samples
        self._memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _prepare(self, db):
        query = self.build(*self.samples)
        sql, params = query.sql()
        slots = []
        for value in params:
            hits = [i for i, s in enumerate(self.samples) if type(s) is type(value) and s == value]
            slots.append(("arg", hits[0]) if hits else ("const", value))
        missing = set(range(len(self.samples))) - {i for kind, i in slots if kind == "arg"}
        if missing:
            raise ValueError(f"samples {sorted(missing)} are not parameters of {sql}")
        converters = [node.python_value if isinstance(node, Field) else None
                      for node in query._returning]
        entry = (sql, slots, converters)
        self._memo[db] = entry
        return entry

    def rows(self, *args) -> list[tuple]:
        db = database.obj
        sql, slots, converters = self._memo.get(db) or self._prepare(db)
        params = [args[v] if kind == "arg" else v for kind, v in slots]
        cursor = db.execute_sql(sql, params)
        return [tuple(value if conv is None or value is None else conv(value)
                      for conv, value in zip(converters, row))
                for row in cursor.fetchall()]

    def first(self, *args) -> tuple | None:
        found = self.rows(*args)
        return found[0] if found else None

    def instances(self, model: type[Model], *args) -> list[Model]:
        """The rows as `model` instances (the query selects fields_of(model))."""
        return [instance(model, row) for row in self.rows(*args)]


_TENANT, _LIMIT, _OFFSET = -7_000_011, 7_000_012, 7_000_013


class ScopedList:
    """models.tenancy.scoped(model, tenant).order_by(*order): every row, a page, or the
    count, each statement built once per database. `bound(tenant_id)` answers count() and
    paginate(page, per_page) like the Peewee query, for webui.api.paginate."""

    def __init__(self, model: type[Model], *order):
        from peewee import SQL, fn

        from .tenancy import scoped
        self.model = model
        ordered = lambda tenant: scoped(model, tenant).order_by(*order)  # noqa: E731
        self._all = {True: CachedSelect(lambda t: ordered(t), (_TENANT,)),
                     False: CachedSelect(lambda: ordered(None), ())}
        self._page = {True: CachedSelect(lambda t, n, o: ordered(t).limit(n).offset(o),
                                         (_TENANT, _LIMIT, _OFFSET)),
                      False: CachedSelect(lambda n, o: ordered(None).limit(n).offset(o),
                                          (_LIMIT, _OFFSET))}
        self._count = {True: CachedSelect(lambda t: scoped(model, t).select(fn.COUNT(SQL("*"))),
                                          (_TENANT,)),
                       False: CachedSelect(lambda: scoped(model, None).select(
                           fn.COUNT(SQL("*"))), ())}

    @staticmethod
    def _args(tenant_id):
        return (tenant_id is not None), (() if tenant_id is None else (tenant_id,))

    def all(self, tenant_id: int | None) -> list[Model]:
        one, args = self._args(tenant_id)
        return self._all[one].instances(self.model, *args)

    def page(self, tenant_id: int | None, page: int, per_page: int) -> list[Model]:
        one, args = self._args(tenant_id)
        return self._page[one].instances(self.model, *args, per_page,
                                         (max(page, 1) - 1) * per_page)

    def count(self, tenant_id: int | None) -> int:
        one, args = self._args(tenant_id)
        return self._count[one].first(*args)[0]

    def bound(self, tenant_id: int | None) -> "_Bound":
        return _Bound(self, tenant_id)


class _Bound:
    def __init__(self, lister: ScopedList, tenant_id: int | None):
        self.lister, self.tenant_id = lister, tenant_id

    def count(self) -> int:
        return self.lister.count(self.tenant_id)

    def paginate(self, page: int, per_page: int) -> list[Model]:
        return self.lister.page(self.tenant_id, page, per_page)


def fields_of(model: type[Model]) -> list[Field]:
    return list(model._meta.sorted_fields)


def instance(model: type[Model], values) -> Model:
    """A model row from its fields' values (in fields_of order), as Peewee builds one."""
    obj = model(__no_default__=1)  # what Peewee's own rows are built from, minus setattr
    obj.__data__ = dict(zip(model._meta.sorted_field_names, values))
    return obj
