"""Issue 13: agent evaluation forms and scores, saved report-builder reports, and the
predictive pacing settings of Voice Agent campaigns."""
from __future__ import annotations

from ..entities import (
    Campaign, Evaluation, EvaluationAnswer, EvaluationForm, EvaluationQuestion,
    EvaluationSection, SavedReport,
)

CREATES = [EvaluationForm, EvaluationSection, EvaluationQuestion, Evaluation, EvaluationAnswer,
           SavedReport]
ADDS = [(Campaign, "pacing_mode"), (Campaign, "abandon_cap_pct")]


def up(ops) -> None:
    for model in CREATES:
        ops.create_table(model)
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    for model in reversed(CREATES):
        ops.drop_table(model)
