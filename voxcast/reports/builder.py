"""The report builder: a tenant's own report from a definition the user put together (source,
fields, filters, grouping, sort), run over a report period in the viewer's time zone.

A definition is JSON data, never SQL: every name in it is looked up in the whitelist of its
source below and turned into a Peewee expression; anything else is refused with a reason per
field (BuilderError, 422). Values reach the database as parameters only.

    {"source": "calls",
     "fields": ["day", "campaign", "count", "sum:billsec", "avg:duration"],
     "filters": {"direction": ["outbound"], "campaign_id": [3, 4]},
     "group_by": ["day", "campaign"],
     "sort": [{"field": "count", "desc": true}],
     "limit": 100}

With group_by (or aggregates only) every field is a grouping dimension or an aggregate
("count", or "sum|avg|min|max:<measure>"); without them the fields are columns of a plain list
of rows. Day / week / month are local to the viewer (voxcast.reports.sqlparts.bucket_index).

Grouped call reports whose dimensions, filters and aggregates the rollup tables hold
(models.entities: CallHour per UTC hour, campaign and direction; CallQuarter the same per
quarter hour, for zones like +5:30; CallRollup per UTC hour, campaign, agent, direction and
disposition) read the smallest rollup that serves, which
is kept equal to the raw table by triggers (models.rollups); everything else reads the indexed
raw table. Both paths give the same figures (a unit test compares them)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from peewee import SQL, Case, fn

import models.entities as entities
from models import Call, User
from models.entities import (
    AGENT_STATES, DISPOSITIONS, QUEUE_OUTCOMES, AgentStateLog, Campaign, PauseReason, Queue,
    QueueCall, utcnow,
)
from voxcast.errors import ServiceError
from voxcast.reports import sqlparts
from voxcast.reports.period import ReportPeriod, to_local

MAX_ROWS = 100_000  # a plain list (and an export) stops there; `truncated` says so
MAX_FIELDS = 30
AGGREGATES = ("sum", "avg", "min", "max")
DIRECTIONS = ("outbound", "inbound", "agent", "internal", "phone", "transfer")


class BuilderError(ServiceError):
    """A definition that cannot run; `errors` says why per part ("fields[2]": "...")."""
    code = "bad-definition"
    status = 422

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


# --- the whitelist -----------------------------------------------------------------------

@dataclass(frozen=True)
class Dim:
    """A column a report may show or group by. `expr` builds the SQL; `label` names its
    values for the reader (ids -> names), `kind` tells how to show it."""
    label: str
    expr: Callable | None  # (period, now) -> expression; None: a time grain
    kind: str = "text"  # text | int | seconds | money | datetime | date
    names: str = ""  # "campaign" | "user" | "queue" | "reason": ids shown as names
    group: bool = True  # may be grouped by (False: listing only)


@dataclass(frozen=True)
class Measure:
    label: str
    expr: Callable  # (period, now) -> numeric expression
    kind: str = "int"


@dataclass(frozen=True)
class Filter:
    kind: str  # ids | choice | text
    expr: Callable  # (value, tenant_id) -> condition
    choices: tuple = ()


@dataclass(frozen=True)
class Source:
    label: str
    model: type
    time: Callable  # the column that places a row in the period
    dims: dict[str, Dim]
    measures: dict[str, Measure]
    filters: dict[str, Filter]
    default_sort: str
    window: Callable | None = None  # (period, now) -> conditions; default: time in period


def _const(expr):
    return lambda _period, _now: expr


def _grains(label_of) -> dict[str, Dim]:
    return {g: Dim(label_of[g], None, "date") for g in sqlparts.TIME_GRAINS}


GRAIN_LABELS = {"day": "Day", "week": "Week", "month": "Month"}


def _in_queue(values, tenant_id):
    return Call.id.in_(QueueCall.select(QueueCall.call).where(
        QueueCall.tenant == tenant_id, QueueCall.queue.in_(values)))


def _contains(column):
    return lambda value, _tid: column.contains(value)


CALLS = Source(
    "Calls (CDRs)", Call, lambda: Call.started_at,
    dims={**_grains(GRAIN_LABELS),
          "campaign": Dim("Campaign", _const(Call.campaign), names="campaign"),
          "agent": Dim("Agent", _const(Call.agent), names="user"),
          "direction": Dim("Direction", _const(Call.direction)),
          "disposition": Dim("Disposition", _const(Call.disposition)),
          "agent_disposition": Dim("Agent disposition", _const(Call.agent_disposition)),
          "did": Dim("DID", _const(Call.did)),
          "number": Dim("Number", _const(Call.number), group=False),
          "started_at": Dim("Started", _const(Call.started_at), "datetime", group=False),
          "answered_at": Dim("Answered", _const(Call.answered_at), "datetime", group=False),
          "ended_at": Dim("Ended", _const(Call.ended_at), "datetime", group=False),
          "duration": Dim("Duration", _const(Call.duration), "seconds", group=False),
          "billsec": Dim("Talk time", _const(Call.billsec), "seconds", group=False),
          "cost": Dim("Cost", _const(Call.cost), "money", group=False),
          "notes": Dim("Notes", _const(Call.notes), group=False)},
    measures={"duration": Measure("duration", _const(Call.duration), "seconds"),
              "billsec": Measure("talk time", _const(Call.billsec), "seconds"),
              "cost": Measure("cost", _const(Call.cost), "money"),
              "answered": Measure("answered", _const(
                  Case(None, ((Call.disposition == "ANSWERED", 1),), 0)))},
    filters={"campaign_id": Filter("ids", lambda v, _t: Call.campaign.in_(v)),
             "agent_id": Filter("ids", lambda v, _t: Call.agent.in_(v)),
             "queue_id": Filter("ids", _in_queue),
             "direction": Filter("choice", lambda v, _t: Call.direction.in_(v), DIRECTIONS),
             "disposition": Filter("choice", lambda v, _t: Call.disposition.in_(v),
                                   DISPOSITIONS + ("",)),
             "agent_disposition": Filter("texts", lambda v, _t: Call.agent_disposition.in_(v)),
             "number": Filter("text", _contains(Call.number))},
    default_sort="started_at",
)


def _state_seconds(period, now):
    return sqlparts.clipped_seconds(AgentStateLog.started_at, AgentStateLog.ended_at,
                                    period.since, period.until, now)


AGENT_STATES_SOURCE = Source(
    "Agent state time", AgentStateLog, lambda: AgentStateLog.started_at,
    dims={**_grains(GRAIN_LABELS),
          "agent": Dim("Agent", _const(AgentStateLog.user), names="user"),
          "state": Dim("State", _const(AgentStateLog.state)),
          "pause_reason": Dim("Pause reason", _const(AgentStateLog.pause_reason), names="reason"),
          "started_at": Dim("Started", _const(AgentStateLog.started_at), "datetime", group=False),
          "ended_at": Dim("Ended", _const(AgentStateLog.ended_at), "datetime", group=False),
          "seconds": Dim("Seconds", _state_seconds, "seconds", group=False)},
    measures={"seconds": Measure("time", _state_seconds, "seconds")},
    filters={"agent_id": Filter("ids", lambda v, _t: AgentStateLog.user.in_(v)),
             "state": Filter("choice", lambda v, _t: AgentStateLog.state.in_(v), AGENT_STATES),
             "pause_reason_id": Filter("ids", lambda v, _t: AgentStateLog.pause_reason.in_(v))},
    default_sort="started_at",
    # every stretch that overlaps the period (its time in it is clipped), not only those
    # that began in it
    window=lambda period, now: [AgentStateLog.started_at < period.until,
                                AgentStateLog.started_at < now,
                                AgentStateLog.ended_at.is_null()
                                | (AgentStateLog.ended_at > period.since)],
)

QUEUE_CALLS = Source(
    "Queue calls", QueueCall, lambda: QueueCall.entered_at,
    dims={**_grains(GRAIN_LABELS),
          "queue": Dim("Queue", _const(QueueCall.queue), names="queue"),
          "campaign": Dim("Campaign", _const(QueueCall.campaign), names="campaign"),
          "agent": Dim("Agent", _const(QueueCall.agent), names="user"),
          "outcome": Dim("Outcome", _const(QueueCall.outcome)),
          "caller": Dim("Caller", _const(QueueCall.caller), group=False),
          "entered_at": Dim("Entered", _const(QueueCall.entered_at), "datetime", group=False),
          "answered_at": Dim("Answered", _const(QueueCall.answered_at), "datetime",
                             group=False),
          "wait_seconds": Dim("Wait", _const(QueueCall.wait_seconds), "seconds", group=False),
          "offers": Dim("Offers", _const(QueueCall.offers), "int", group=False)},
    measures={"wait_seconds": Measure("wait", _const(QueueCall.wait_seconds), "seconds"),
              "offers": Measure("offers", _const(QueueCall.offers)),
              "answered": Measure("answered", _const(
                  Case(None, ((QueueCall.outcome == "answered", 1),), 0))),
              "abandoned": Measure("abandoned", _const(
                  Case(None, ((QueueCall.outcome == "abandoned", 1),), 0)))},
    filters={"queue_id": Filter("ids", lambda v, _t: QueueCall.queue.in_(v)),
             "campaign_id": Filter("ids", lambda v, _t: QueueCall.campaign.in_(v)),
             "agent_id": Filter("ids", lambda v, _t: QueueCall.agent.in_(v)),
             "outcome": Filter("choice", lambda v, _t: QueueCall.outcome.in_(v),
                               QUEUE_OUTCOMES + ("",))},
    default_sort="entered_at",
)

SOURCES = {"calls": CALLS, "agent_states": AGENT_STATES_SOURCE, "queue_calls": QUEUE_CALLS}


# --- definitions -------------------------------------------------------------------------

@dataclass
class Definition:
    source: str
    fields: list[str]
    filters: dict
    group_by: list[str]
    sort: list[tuple[str, bool]]  # (field, descending)
    limit: int | None = None

    @property
    def grouped(self) -> bool:
        return bool(self.group_by) or all(is_aggregate(f) for f in self.fields)

    def as_json(self) -> dict:
        out = {"source": self.source, "fields": self.fields, "filters": self.filters,
               "group_by": self.group_by,
               "sort": [{"field": f, "desc": d} for f, d in self.sort]}
        if self.limit is not None:
            out["limit"] = self.limit
        return out


def is_aggregate(name: str) -> bool:
    return name == "count" or ":" in name


def field_label(source: Source, name: str) -> str:
    if name == "count":
        return "Count"
    if ":" in name:
        agg, measure = name.split(":", 1)
        return f"{agg.capitalize()} of {source.measures[measure].label}"
    return source.dims[name].label


def field_kind(source: Source, name: str) -> str:
    if name == "count":
        return "int"
    if ":" in name:
        agg, measure = name.split(":", 1)
        kind = source.measures[measure].kind
        return "number" if agg == "avg" and kind != "money" else kind
    return source.dims[name].kind


def _list_of(value, where: str, errors: dict) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errors[where] = "must be a list"
        return []
    return value


def validate(raw) -> Definition:
    """The definition checked against the whitelist; BuilderError lists every problem."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BuilderError({"definition": "is not JSON"}) from None
    if not isinstance(raw, dict):
        raise BuilderError({"definition": "must be an object"})
    errors: dict[str, str] = {}
    unknown = set(raw) - {"source", "fields", "filters", "group_by", "sort", "limit"}
    for key in sorted(unknown):
        errors[key] = "is not a part of a definition"
    source_name = raw.get("source")
    if source_name not in SOURCES:
        errors["source"] = "must be one of: " + ", ".join(SOURCES)
        raise BuilderError(errors)
    source = SOURCES[source_name]
    choices = sorted(source.dims) + ["count"] + [
        f"{a}:{m}" for a in AGGREGATES for m in source.measures]
    fields = _list_of(raw.get("fields"), "fields", errors)
    if not fields and "fields" not in errors:
        errors["fields"] = "choose at least one field"
    if len(fields) > MAX_FIELDS:
        errors["fields"] = f"at most {MAX_FIELDS} fields"
    clean: list[str] = []
    for i, name in enumerate(fields):
        if not isinstance(name, str) or not _known(source, name):
            errors[f"fields[{i}]"] = (f"unknown field {name!r} for {source_name}; choose from: "
                                      + ", ".join(choices))
        elif name in clean:
            errors[f"fields[{i}]"] = f"{name!r} is chosen twice"
        else:
            clean.append(name)
    group_by: list[str] = []
    for i, name in enumerate(_list_of(raw.get("group_by"), "group_by", errors)):
        dim = source.dims.get(name) if isinstance(name, str) else None
        if dim is None or not dim.group:
            errors[f"group_by[{i}]"] = (f"cannot group by {name!r}; choose from: " + ", ".join(
                n for n, d in source.dims.items() if d.group))
        elif name not in group_by:
            group_by.append(name)
    grains = [g for g in group_by if g in sqlparts.TIME_GRAINS]
    if len(grains) > 1:
        errors["group_by"] = "group by one of day, week or month, not several"
    aggregates = [f for f in clean if is_aggregate(f)]
    plain = [f for f in clean if not is_aggregate(f)]
    if group_by or (aggregates and not plain):
        for i, name in enumerate(fields):
            if name in plain and name not in group_by:
                errors[f"fields[{i}]"] = (f"{name!r} is neither grouped by nor an aggregate; "
                                          "group by it or remove it")
        clean = [g for g in group_by if g not in clean] + clean
    elif aggregates:
        errors["group_by"] = "aggregates need a grouping (or only aggregates as fields)"
    else:
        for i, name in enumerate(fields):
            if name in sqlparts.TIME_GRAINS:
                errors[f"fields[{i}]"] = f"{name!r} needs a grouping by it"
    filters = _filters(source, raw.get("filters"), errors)
    sort: list[tuple[str, bool]] = []
    for i, item in enumerate(_list_of(raw.get("sort"), "sort", errors)):
        if isinstance(item, str):
            name, desc = item.lstrip("-"), item.startswith("-")
        elif isinstance(item, dict) and set(item) <= {"field", "desc"}:
            name, desc = item.get("field"), item.get("desc", False)
        else:
            errors[f"sort[{i}]"] = 'must be a field name, "-name", or {"field", "desc"}'
            continue
        if name not in clean or not isinstance(desc, bool):
            errors[f"sort[{i}]"] = f"sort by one of the report's fields: {', '.join(clean)}"
        else:
            sort.append((name, desc))
    limit = raw.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or not 1 <= limit <= MAX_ROWS):
        errors["limit"] = f"must be a whole number from 1 to {MAX_ROWS}"
    if errors:
        raise BuilderError(errors)
    return Definition(source_name, clean, filters, group_by, sort, limit)


def _known(source: Source, name: str) -> bool:
    if name == "count" or name in source.dims:
        return True
    agg, _, measure = name.partition(":")
    return agg in AGGREGATES and measure in source.measures


def _filters(source: Source, raw, errors: dict) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors["filters"] = "must be an object"
        return {}
    out = {}
    for name, value in raw.items():
        where = f"filters.{name}"
        spec = source.filters.get(name)
        if spec is None:
            errors[where] = "unknown filter; choose from: " + ", ".join(source.filters)
            continue
        if value in (None, "", []):
            continue
        if spec.kind == "text":
            if not isinstance(value, str) or len(value) > 40:
                errors[where] = "must be text of at most 40 characters"
                continue
        else:
            if not isinstance(value, list) or len(value) > 500:
                errors[where] = "must be a list (at most 500 values)"
                continue
            if spec.kind == "ids" and not all(
                    isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2**31 - 1
                    for v in value):
                errors[where] = "must be a list of ids"
                continue
            if spec.kind == "choice" and not all(v in spec.choices for v in value):
                errors[where] = "values must be among: " + ", ".join(
                    c or '""' for c in spec.choices)
                continue
            if spec.kind == "texts" and not all(isinstance(v, str) and len(v) <= 100
                                                for v in value):
                errors[where] = "must be a list of names"
                continue
        out[name] = value
    return out


# --- running -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str


@dataclass
class Result:
    columns: list[Column]
    rows: list[list]
    truncated: bool = False
    used: str = "raw"  # raw | call_hour | call_quarter | call_rollup: what was read
    zone: str = "UTC"

    def as_dict(self) -> dict:
        return {"columns": [{"key": c.key, "label": c.label, "kind": c.kind}
                            for c in self.columns],
                "rows": [[_json(v) for v in row] for row in self.rows],
                "truncated": self.truncated, "used": self.used, "zone": self.zone}


def _json(value):
    if isinstance(value, Decimal):
        return f"{value:.4f}"
    if isinstance(value, float):
        return round(value, 2)
    return value


def run(tenant_id: int, definition, period: ReportPeriod, *, limit: int | None = None,
        now: dt.datetime | None = None, rollup: bool = True) -> Result:
    """The report for the tenant over the period. `definition` is a dict (or JSON text, or a
    validated Definition); `limit` caps the rows (a preview), else the definition's own limit,
    else MAX_ROWS. rollup=False reads the raw table even where a rollup could serve (to
    check one against the other)."""
    d = definition if isinstance(definition, Definition) else validate(definition)
    now = now or utcnow()
    source = SOURCES[d.source]
    cap = min(x for x in (limit, d.limit, MAX_ROWS) if x is not None)
    columns = [Column(f, field_label(source, f), field_kind(source, f)) for f in d.fields]
    if d.grouped:
        rows, used = _grouped(tenant_id, source, d, period, now, rollup)
        _name_ids(tenant_id, source, columns, rows)
        rows = _sorted(rows, d, columns)
    else:
        rows, used = _listing(tenant_id, source, d, period, now, cap + 1), "raw"
        _name_ids(tenant_id, source, columns, rows)
    truncated = len(rows) > cap
    rows = rows[:cap]
    _present(columns, rows, period)
    return Result(columns, rows, truncated, used, period.zone_name)


def _where(tenant_id: int, source: Source, d: Definition, period: ReportPeriod, now):
    model, time = source.model, source.time()
    conds = [model.tenant == tenant_id]
    if source.window is not None:
        conds += source.window(period, now)
    else:
        conds += [time >= period.since, time < period.until]
    for name, value in d.filters.items():
        conds.append(source.filters[name].expr(value, tenant_id))
    return conds


def _listing(tenant_id, source, d, period, now, cap) -> list[list]:
    exprs = [source.dims[f].expr(period, now) for f in d.fields]
    query = source.model.select(*exprs).where(*_where(tenant_id, source, d, period, now))
    order = []
    for name, desc in d.sort or [(source.default_sort, True)]:
        if name in d.fields or name in source.dims:
            expr = source.dims[name].expr(period, now)
            order.append(expr.desc() if desc else expr.asc())
    order.append(source.model.id.desc() if not d.sort else source.model.id.asc())
    return [list(r) for r in query.order_by(*order).limit(cap).tuples()]


def _agg_parts(source, name, period, now):
    """The SQL aggregates one field needs: count -> COUNT(*); avg -> SUM(x), COUNT(x)."""
    if name == "count":
        return [fn.COUNT(SQL("*"))]
    agg, measure = name.split(":", 1)
    expr = source.measures[measure].expr(period, now)
    if agg == "avg":
        return [fn.SUM(expr), fn.COUNT(expr)]
    return [getattr(fn, agg.upper())(expr)]


def _grouped(tenant_id, source, d, period, now, use_rollup) -> tuple[list[list], str]:
    """Rows of (dimension values..., aggregate values...). Every path first yields additive
    partials per key (counts, sums, and for an average its sum and count), so a rollup's
    whole hours and the raw table's edges of the period can be added up (_merge)."""
    dims = [f for f in d.fields if not is_aggregate(f)]
    aggs = [f for f in d.fields if is_aggregate(f)]
    plan = _rollup_plan(source, d, period) if use_rollup else None
    if plan is None:
        partials, used = _raw_partials(tenant_id, source, d, period, now, dims, aggs), "raw"
    elif plan.inner is None:
        partials = _rollup_partials(tenant_id, d, period, plan.model, dims, aggs, None)
        used = plan.model._meta.table_name
    else:  # whole hours from the rollup, the part-hours at both ends from the raw CDRs
        lo, hi = plan.inner
        partials = _merge(
            _rollup_partials(tenant_id, d, period, plan.model, dims, aggs, plan.inner),
            _raw_partials(tenant_id, source, d, period, now, dims, aggs, (period.since, lo)),
            _raw_partials(tenant_id, source, d, period, now, dims, aggs, (hi, period.until)))
        used = plan.model._meta.table_name + "+raw"
    if not dims and not partials:  # totals of nothing: one line of zeros
        partials = {(): [None] * sum(2 if a.startswith("avg:") else 1 for a in aggs)}
    rows = [_assemble(d, dims, list(keys), aggs, values) for keys, values in partials.items()]
    return _time_labels(rows, d, dims, period), used


def _raw_partials(tenant_id, source, d, period, now, dims, aggs, window=None) -> dict:
    exprs = []
    for name in dims:
        dim = source.dims[name]
        exprs.append(sqlparts.bucket_index(source.time(), period, name) if dim.expr is None
                     else dim.expr(period, now))
    parts = [p for f in aggs for p in _agg_parts(source, f, period, now)]
    conds = _where(tenant_id, source, d, period, now)
    if window is not None:
        if window[0] >= window[1]:
            return {}
        conds += [source.time() >= window[0], source.time() < window[1]]
    query = source.model.select(*exprs, *parts).where(*conds)
    if exprs:
        query = query.group_by(*(SQL(str(i + 1)) for i in range(len(exprs))))
    out = {}
    for raw in query.tuples():
        values = list(raw[len(dims):])
        if not dims and aggs and values[0] in (0, None) and window is not None:
            continue  # an empty edge adds nothing
        out[tuple(raw[:len(dims)])] = values
    return out


def _merge(*partials: dict) -> dict:
    out: dict = {}
    for part in partials:
        for key, values in part.items():
            if key not in out:
                out[key] = list(values)
            else:
                out[key] = [_add(a, b) for a, b in zip(out[key], values)]
    return out


def _add(a, b):
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, Decimal) != isinstance(b, Decimal):  # a float sum and a numeric one
        return Decimal(str(a)) + Decimal(str(b))
    return a + b


def _assemble(d, dims, keys, aggs, values) -> list:
    by_name = dict(zip(dims, keys))
    out_aggs = {}
    it = iter(values)
    for name in aggs:
        if name.startswith("avg:"):
            total, n = next(it), next(it)
            out_aggs[name] = (float(total) / n) if n else None
        else:
            value = next(it)
            out_aggs[name] = 0 if value is None and not name.startswith(("min:", "max:")) \
                else value
    return [by_name[f] if f in by_name else out_aggs[f] for f in d.fields]


def _time_labels(rows, d, dims, period) -> list[list]:
    grain = next((g for g in dims if g in sqlparts.TIME_GRAINS), None)
    if grain is None:
        return rows
    starts = sqlparts.bucket_starts(period, grain)
    i = d.fields.index(grain)
    for row in rows:
        row[i] = starts[int(row[i])]
    return rows


# --- the rollup path ---------------------------------------------------------------------

ROLLUP_AGGREGATES = {"count", "sum:duration", "sum:billsec", "sum:cost", "sum:answered",
                     "avg:duration", "avg:billsec", "avg:answered"}
HOURLY = {"dims": {"campaign", "agent", "direction", "disposition"},
          "filters": {"campaign_id", "agent_id", "direction", "disposition"}}
QUARTER = {"dims": {"campaign", "direction"}, "filters": {"campaign_id", "direction"}}


@dataclass(frozen=True)
class RollupPlan:
    model: type
    inner: tuple[dt.datetime, dt.datetime] | None = None  # the whole hours read from it


def _hour_up(t: dt.datetime) -> dt.datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + dt.timedelta(hours=1)


def _rollup_plan(source, d, period) -> RollupPlan | None:
    """The rollup that holds this grouped call report, or None (read the raw table). A
    report without days whose period does not start and end on whole hours (a +5:30 zone's
    midnights) reads the whole hours inside from the hourly rollup and the edges raw."""
    if source is not CALLS:
        return None
    aggs = {f for f in d.fields if is_aggregate(f)}
    dims = {f for f in d.fields if not is_aggregate(f)}
    grains = dims & set(sqlparts.TIME_GRAINS)
    dims -= grains
    if not aggs <= ROLLUP_AGGREGATES:
        return None
    grain = next(iter(grains), "day")
    bounds_whole = all(t.minute % 15 == 0 and not t.second and not t.microsecond
                       for t in (period.since, period.until))
    hours = sqlparts.whole_hours(period, grain)
    narrow = dims <= QUARTER["dims"] and set(d.filters) <= QUARTER["filters"]
    wide = dims <= HOURLY["dims"] and set(d.filters) <= HOURLY["filters"]
    hour = getattr(entities, "CallHour", None)  # campaign and direction per hour: fewest rows
    quarter = getattr(entities, "CallQuarter", None)
    hourly = getattr(entities, "CallRollup", None)
    if hour is not None and narrow and hours:
        return RollupPlan(hour)
    if quarter is not None and narrow and bounds_whole:
        return RollupPlan(quarter)
    if hourly is not None and wide:
        if hours:
            return RollupPlan(hourly)
        if not grains:
            lo = _hour_up(period.since)
            hi = period.until.replace(minute=0, second=0, microsecond=0)
            if lo < hi:
                return RollupPlan(hourly, (lo, hi))
    return None


def _rollup_partials(tenant_id, d, period, model, dims, aggs, inner) -> dict:
    columns = {"campaign": model.campaign_id, "direction": model.direction,
               "agent": getattr(model, "agent_id", None),
               "disposition": getattr(model, "disposition", None)}
    exprs = [sqlparts.bucket_index(model.bucket, period, n) if n in sqlparts.TIME_GRAINS
             else columns[n] for n in dims]
    sums = {"count": model.calls, "duration": model.duration, "billsec": model.billsec,
            "cost": model.cost, "answered": model.answered}
    parts = []
    for name in aggs:
        parts.append(fn.SUM(sums[name.split(":", 1)[-1]]))
        if name.startswith("avg:"):
            parts.append(fn.SUM(model.calls))
    parts.append(fn.SUM(model.calls))  # last: a key whose calls were all deleted has 0
    lo, hi = inner or (period.since, period.until)
    conds = [model.tenant == tenant_id, model.bucket >= lo, model.bucket < hi]
    filters = {"campaign_id": model.campaign_id, "agent_id": getattr(model, "agent_id", None),
               "direction": model.direction, "disposition": getattr(model, "disposition", None)}
    for name, value in d.filters.items():
        conds.append(filters[name].in_(value))
    query = model.select(*exprs, *parts).where(*conds)
    if exprs:
        query = query.group_by(*(SQL(str(i + 1)) for i in range(len(exprs))))
    out = {}
    for raw in query.tuples():
        if not raw[-1]:  # no calls (all deleted, or no row at all for a total)
            continue
        keys = tuple(None if n in ("campaign", "agent") and k == 0 else k
                     for n, k in zip(dims, raw[:len(dims)]))
        out[keys] = list(raw[len(dims):-1])
    return out


# --- presenting --------------------------------------------------------------------------

def _sort_key(value):
    if value is None:
        return (0, "")
    if isinstance(value, (int, float, Decimal)):
        return (1, float(value))
    return (2, str(value).lower())


def _sorted(rows, d, columns) -> list[list]:
    order = d.sort or [(c.key, False) for c in columns if not is_aggregate(c.key)]
    for name, desc in reversed(order):
        i = d.fields.index(name)
        rows.sort(key=lambda r: _sort_key(r[i]), reverse=desc)
    return rows


NAME_LOOKUPS = {
    "campaign": lambda tid, ids: Campaign.select(Campaign.id, Campaign.name).where(
        Campaign.tenant == tid, Campaign.id.in_(ids)).tuples(),
    "user": lambda tid, ids: User.select(User.id, User.username).where(
        User.tenant == tid, User.id.in_(ids)).tuples(),
    "queue": lambda tid, ids: Queue.select(Queue.id, Queue.name).where(
        Queue.tenant == tid, Queue.id.in_(ids)).tuples(),
    "reason": lambda tid, ids: PauseReason.select(PauseReason.id, PauseReason.name).where(
        PauseReason.tenant == tid, PauseReason.id.in_(ids)).tuples(),
}


def _name_ids(tenant_id, source, columns, rows) -> None:
    """Ids of campaigns, agents, queues and pause reasons shown as their names (scoped to the
    tenant: an id of anyone else's row would show as its number, never its name)."""
    for i, col in enumerate(columns):
        dim = source.dims.get(col.key)
        if dim is None or not dim.names:
            continue
        ids = {r[i] for r in rows if isinstance(r[i], int)}
        names = dict(NAME_LOOKUPS[dim.names](tenant_id, list(ids))) if ids else {}
        for r in rows:
            if r[i] is not None:
                r[i] = names.get(r[i], f"#{r[i]}")
            else:
                r[i] = ""


def _present(columns, rows, period) -> None:
    for i, col in enumerate(columns):
        for r in rows:
            v = r[i]
            if col.kind == "datetime" and isinstance(v, dt.datetime):
                r[i] = to_local(v, period.zone).strftime("%Y-%m-%d %H:%M:%S")
            elif col.kind == "datetime" and isinstance(v, str) and v:
                r[i] = to_local(dt.datetime.fromisoformat(v), period.zone).strftime(
                    "%Y-%m-%d %H:%M:%S")
            elif col.kind == "date" and isinstance(v, dt.date):
                r[i] = v.strftime("%Y-%m") if col.key == "month" else v.isoformat()
            elif col.kind == "money" and v is not None:
                r[i] = Decimal(str(v)).quantize(Decimal("0.0001"))
            elif col.kind == "seconds" and v is not None:
                r[i] = round(float(v))
            elif col.kind == "number" and v is not None:
                r[i] = round(float(v), 2)


def to_csv(result: Result) -> str:
    import io
    from voxcast import csv_export
    buf = io.StringIO()
    out = csv_export.writer(buf)
    out.writerow([c.label for c in result.columns])
    for row in result.rows:
        out.writerow(["" if v is None else _json(v) for v in row])
    return buf.getvalue()


def catalogue() -> dict:
    """What the builder page and the API offer per source: dimensions, measures, filters."""
    return {name: {"label": s.label,
                   "dimensions": {k: {"label": v.label, "kind": v.kind, "group": v.group}
                                  for k, v in s.dims.items()},
                   "measures": {k: v.label for k, v in s.measures.items()},
                   "filters": {k: {"kind": f.kind, "choices": list(f.choices)}
                               for k, f in s.filters.items()}}
            for name, s in SOURCES.items()}
