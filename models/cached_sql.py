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

from peewee import (AutoField, BigAutoField, BigIntegerField, CharField, Field,
                    FixedCharField, ForeignKeyField, IntegerField, Model, SmallIntegerField,
                    TextField)

from .db import database


class ListOf:
    """A sample standing for a list parameter (`field.in_(values)`): the SQL is built once per
    database and list length, so a page of N ids costs its text once for each N."""

    def __init__(self, sample):
        if type(sample) not in (int, str):
            raise TypeError("a list sample is an int or a str")
        self.sample = sample

    def expand(self, position: int, n: int) -> list:
        """n distinct values of the sample's type, unlike any other sample's."""
        if type(self.sample) is int:
            return [-(9_100_000_000 + position * 1_000_000 + k) for k in range(n)]
        return [f"\0list{position}-{k}" for k in range(n)]


# Fields whose python_value leaves a value of this type as it is (the stock Peewee classes
# only): such columns are not converted when the driver already returns that type.
_NATIVE = {IntegerField: int, BigIntegerField: int, SmallIntegerField: int, AutoField: int,
           BigAutoField: int, CharField: str, TextField: str, FixedCharField: str}


def _native_type(field: Field):
    """The type the field's python_value returns unchanged, else None (always convert)."""
    if isinstance(field, ForeignKeyField):
        return _native_type(field.rel_field)
    native = _NATIVE.get(type(field))
    if native is None or type(field).python_value is not Field.python_value:
        return None
    return native


class CachedSelect:
    def __init__(self, build, samples: tuple):
        self.build = build
        self.samples = samples
        self._lists = [i for i, s in enumerate(samples) if isinstance(s, ListOf)]
        self._memo: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._plans: dict = {}  # column types of a row -> the columns to convert
        self._converters: list | None = None  # (column, python_value, native type)

    def _prepare(self, db, shape: tuple):
        values = list(self.samples)
        for i, n in zip(self._lists, shape):
            values[i] = values[i].expand(i, n)
        query = self.build(*values)
        sql, params = query.sql()
        where: dict = {}  # (type, value) -> slot
        for i, v in enumerate(values):
            if i in self._lists:
                for k, item in enumerate(v):
                    where[(type(item), item)] = ("item", i, k)
            else:
                where.setdefault((type(v), v), ("arg", i, None))
        slots = [where.get((type(value), value), ("const", value, None)) for value in params]
        used = {i for kind, i, _ in slots if kind != "const"}
        missing = {i for i in range(len(values))
                   if i not in used and not (i in self._lists and not values[i])}
        if missing:
            raise ValueError(f"samples {sorted(missing)} are not parameters of {sql}")
        entry = (sql, slots)
        self._memo.setdefault(db, {})[shape] = entry
        return entry

    def raw_rows(self, *args) -> list[tuple]:
        """The rows as the driver returned them; convert() gives the fields' values."""
        db = database.obj
        shape = tuple(len(args[i]) for i in self._lists)
        entry = self._memo.get(db, {}).get(shape)
        sql, slots = entry or self._prepare(db, shape)
        params = [args[i] if kind == "arg" else (args[i][k] if kind == "item" else i)
                  for kind, i, k in slots]
        return db.execute_sql(sql, params).fetchall()

    def converters(self) -> list:
        """(column, python_value, native type) of each field the query selects: the same on
        every database and for every list length."""
        if self._converters is None:
            values = [s.expand(i, 1) if isinstance(s, ListOf) else s
                      for i, s in enumerate(self.samples)]
            self._converters = [(i, node.python_value, _native_type(node))
                                for i, node in enumerate(self.build(*values)._returning)
                                if isinstance(node, Field)]
        return self._converters

    def convert(self, row: tuple, kinds: tuple | None = None) -> tuple:
        """A raw row (of raw_rows) with each column as its field's python_value gives it;
        `kinds`, the row's column types, when the caller has them."""
        if kinds is None:
            kinds = tuple(map(type, row))
        # which columns need python_value depends only on the types the driver gave
        todo = self._plans.get(kinds)
        if todo is None:
            todo = [(i, conv) for i, conv, native in self.converters()
                    if kinds[i] is not type(None) and kinds[i] is not native]
            if len(self._plans) < 256:
                self._plans[kinds] = todo
        if not todo:
            return row
        row = list(row)
        for i, conv in todo:
            row[i] = conv(row[i])
        return tuple(row)

    def rows(self, *args) -> list[tuple]:
        found = self.raw_rows(*args)
        if not self.converters():
            return found
        return [self.convert(row) for row in found]

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
        return self.slice(tenant_id, per_page, (max(page, 1) - 1) * per_page)

    def slice(self, tenant_id: int | None, limit: int, offset: int) -> list[Model]:
        one, args = self._args(tenant_id)
        return self._page[one].instances(self.model, *args, limit, offset)

    def page_raw(self, tenant_id: int | None, page: int, per_page: int) -> list[tuple]:
        """page() as the driver's rows; instance_of() makes each a model row."""
        one, args = self._args(tenant_id)
        return self._page[one].raw_rows(*args, per_page, (max(page, 1) - 1) * per_page)

    def instance_of(self, raw: tuple, kinds: tuple | None = None) -> Model:
        """A row of page_raw as a model instance, like page() gives it."""
        return instance(self.model, self._page[True].convert(raw, kinds))

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


class RowMemo:
    """What a pure function `derive(raw, kinds)` makes of a database row, remembered by the
    row's raw values together with their types, so only an identical row (same table, same
    id, tenant and every column) finds it, never another's; rows whose values cannot be
    hashed are derived anew. At most `limit` rows, forgotten all at once when full."""

    def __init__(self, derive, limit: int = 2048):
        self.derive, self.limit = derive, limit
        self._found: dict = {}

    def get(self, raw: tuple):
        kinds = tuple(map(type, raw))
        key = (raw, kinds)
        try:
            hit = self._found.get(key)
        except TypeError:  # a list or dict value (a JSON column on PostgreSQL)
            return self.derive(raw, kinds)
        if hit is None:
            hit = self.derive(raw, kinds)
            if len(self._found) >= self.limit:
                self._found.clear()
            self._found[key] = hit
        return hit


def fields_of(model: type[Model]) -> list[Field]:
    return list(model._meta.sorted_fields)


def instance(model: type[Model], values) -> Model:
    """A model row from its fields' values (in fields_of order), as Peewee builds one."""
    obj = model(__no_default__=1)  # what Peewee's own rows are built from, minus setattr
    obj.__data__ = dict(zip(model._meta.sorted_field_names, values))
    return obj
