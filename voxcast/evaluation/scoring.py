"""The score of one evaluation, pure arithmetic on Decimals (no database).

Rules, the same for the portal, the API and the summary:
- yes/no: "yes" earns the weight, "no" nothing;
- scale 1..max: v earns weight x (v - 1) / (max - 1), so the lowest mark earns nothing and
  the top mark the full weight, like "no" and "yes" (with v / max a 1 of 5 would still earn a
  fifth, and a form mixing both kinds would pay "the worst" on one and not the other);
- "na" (only where the question allows it) leaves the question out of both the points and
  the maximum;
- each answer's points are rounded to cents (half up) and the evaluation's points are the sum
  of those stored figures, so the answers always add up to the total shown;
- score % = points / maximum x 100, rounded to cents; every question N/A: no score (None),
  which the summary leaves out of averages rather than count as 0 %.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

from voxcast.i18n import Msg, N_

KINDS = ("yes_no", "scale")
NA = "na"
CENT = Decimal("0.01")
MIN_SCALE, MAX_SCALE = 2, 10


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rule:
    """What scoring needs of a question."""
    id: int
    section_id: int
    kind: str
    weight: Decimal
    scale_max: int = 5
    allow_na: bool = True


@dataclass(frozen=True)
class Scored:
    points: Decimal
    max_points: Decimal
    percent: Decimal | None
    answers: dict[int, tuple[str, Decimal]]  # question id -> (value, points)
    sections: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)  # id -> (pts, max)


def choices(rule: Rule) -> list[str]:
    """The values a question accepts, in the order the form shows them."""
    values = ["yes", "no"] if rule.kind == "yes_no" else [str(v) for v in range(1, rule.scale_max + 1)]
    return values + ([NA] if rule.allow_na else [])


def answer_points(rule: Rule, value: str) -> Decimal | None:
    """The points `value` earns on `rule`; None for N/A. ValueError when it is no answer
    this question accepts."""
    value = (value or "").strip().lower()
    if value not in choices(rule):
        raise ValueError(value)
    if value == NA:
        return None
    if rule.kind == "yes_no":
        return cents(rule.weight) if value == "yes" else Decimal("0.00")
    return cents(rule.weight * (int(value) - 1) / (rule.scale_max - 1))


def percent(points: Decimal, max_points: Decimal) -> Decimal | None:
    if max_points <= 0:
        return None
    return cents(points * 100 / max_points)


def score(rules: Iterable[Rule], given: Mapping[int, str]) -> Scored:
    """Every rule must be answered; raises ScoreError with a message per question id
    (str(question id) -> message) for the missing and refused ones, before anything else."""
    rules = list(rules)
    problems: dict[str, str] = {}
    known = {r.id for r in rules}
    for qid in given:
        if qid not in known:
            problems[str(qid)] = Msg(N_("This question is not on the form."))
    answers: dict[int, tuple[str, Decimal]] = {}
    sections: dict[int, tuple[Decimal, Decimal]] = {}
    total, maximum = Decimal("0.00"), Decimal("0.00")
    for rule in rules:
        raw = given.get(rule.id)
        if raw is None or str(raw).strip() == "":
            problems[str(rule.id)] = Msg(N_("Answer this question."))
            continue
        try:
            points = answer_points(rule, str(raw))
        except ValueError:
            problems[str(rule.id)] = Msg(N_("Choose one of: %(values)s."),
                                         values=", ".join(choices(rule)))
            continue
        value = str(raw).strip().lower()
        answers[rule.id] = (value, points if points is not None else Decimal("0.00"))
        if points is None:
            continue
        weight = cents(rule.weight)
        total += points
        maximum += weight
        pts, mx = sections.get(rule.section_id, (Decimal("0.00"), Decimal("0.00")))
        sections[rule.section_id] = (pts + points, mx + weight)
    if problems:
        raise ScoreError(problems)
    return Scored(total, maximum, percent(total, maximum), answers, sections)


class ScoreError(ValueError):
    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
