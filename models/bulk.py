"""Multi-row writes for the hot paths of message campaigns, as plain SQL text built from the
models' own metadata: peewee's insert_many and Case() built more Python objects per row than
the database spent writing it, at a few thousand messages a second."""
from __future__ import annotations

from peewee import (OP, SQL, AutoField, BigIntegerField, BooleanField, CharField, Expression,
                    ForeignKeyField, IntegerField, Model, TextField)

from . import database


def _param() -> str:
    return database.obj.param if hasattr(database, "obj") else database.param


def insert_rows(model, rows: list[dict], returning: tuple = (), chunk: int = 200) -> list[tuple]:
    """INSERT ... VALUES (...), (...) [RETURNING `returning`]: every column of the model, a
    row's value or the field's default, each through the field's db_value. The returned
    tuples (none without `returning`), in no promised order."""
    fields = [f for f in model._meta.sorted_fields if not isinstance(f, AutoField)]
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    back = (" RETURNING " + ", ".join(f'"{f.column_name}"' for f in returning)) if returning else ""
    # (name, field, the Python type db_value returns unchanged, the default: a constant
    # converted once, or a callable)
    plan = []
    for f in fields:
        default = f.default
        if not callable(default):
            default = _Converted(f.db_value(default.get_id() if isinstance(default, Model) else default))
        plan.append((f.name, f, _plain_type(f), default))
    one = "(" + ", ".join([_param()] * len(fields)) + ")"
    out: list[tuple] = []
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        params = []
        append = params.append
        for row in part:
            for name, f, plain, default in plan:
                value = row.get(name, default)
                if value is None or type(value) is plain:
                    append(value)
                elif type(value) is _Converted:
                    append(value.value)
                else:
                    if callable(value) and value is default:
                        value = value()
                    if isinstance(value, Model):
                        value = value.get_id()
                    append(f.db_value(value))
        sql = (f'INSERT INTO "{model._meta.table_name}" ({names}) VALUES '
               f'{", ".join([one] * len(part))}{back}')
        cursor = database.execute_sql(sql, params)
        if returning:
            out += [tuple(r) for r in cursor.fetchall()]
    return out


class _Converted:
    """A field's constant default, already through its db_value."""
    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value


def _plain_type(field):
    """The Python type whose values this field's db_value passes through unchanged (peewee's
    own string, integer and boolean fields, and foreign keys to integer ids), else None."""
    kind = type(field)
    if kind in (CharField, TextField):
        return str
    if kind in (IntegerField, BigIntegerField):
        return int
    if kind is BooleanField:
        return bool
    if kind is ForeignKeyField and type(field.rel_field) in (AutoField, IntegerField):
        return int
    return None


def update_by_id(model, key, values: dict, ids: list, by_id: dict | None = None,
                 chunk: int = 400) -> int:
    """UPDATE model SET <values> [, by_id's column = CASE key WHEN id THEN value ... END]
    WHERE key IN ids, per chunk: `values` maps fields to one value for all rows; `by_id` is
    (field, {id: value}) for a column that differs per row (ids missing there keep theirs).
    How many rows changed."""
    p = _param()
    table = model._meta.table_name
    changed = 0
    fixed = [(f'"{f.column_name}" = {p}', f.db_value(v)) for f, v in values.items()]
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        sets = [s for s, _ in fixed]
        params = [v for _, v in fixed]
        if by_id:
            field, mapping = by_id
            whens = [i for i in part if i in mapping]
            if whens:
                col = f'"{field.column_name}"'
                sets.append(f"{col} = CASE \"{key.column_name}\" "
                            + " ".join([f"WHEN {p} THEN {p}"] * len(whens)) + f" ELSE {col} END")
                for i in whens:
                    params += [i, field.db_value(mapping[i])]
        if not sets:
            continue
        sql = (f'UPDATE "{table}" SET {", ".join(sets)} WHERE "{key.column_name}" IN '
               f'({", ".join([p] * len(part))})')
        changed += database.execute_sql(sql, params + list(part)).rowcount
    return changed


def one_of(field, values) -> Expression:
    """`field IN (values)` as one SQL fragment, integers written out and other values bound as
    its parameters: peewee's in_() builds a node per value, which cost more than the query at
    a few thousand values a second. Values go through the field's db_value, as in_() would."""
    values = [field.db_value(v) for v in values]
    if not values:
        return Expression(SQL("1"), OP.EQ, SQL("0"))
    if all(type(v) is int for v in values):  # ids: written out (int() text is safe SQL)
        return Expression(field, OP.IN, SQL("(" + ", ".join(map(str, values)) + ")"))
    return Expression(field, OP.IN, SQL("(" + ", ".join([_param()] * len(values)) + ")", values))


def plain_rows(query) -> list[tuple]:
    """The rows of a select of integer and text columns as the driver returns them, without
    peewee's per-value conversion (which the hot path's selects of ids and states do not
    need)."""
    sql, params = query.sql()
    return database.execute_sql(sql, params).fetchall()
