"""Issue 13, agent evaluation: one evaluation per call and form, as a unique index on
(form, call) that the model declares (Evaluation.add_index), so two evaluators saving the same
call at once cannot both count in the summary."""
from __future__ import annotations

from ..entities import Evaluation

NAME = "evaluation_form_call"


def up(ops) -> None:
    before = {i.name for i in ops.db.get_indexes(Evaluation._meta.table_name)}
    ops.db.create_tables([Evaluation], safe=True)  # creates only the missing index
    if NAME not in before:
        ops.done.append(f"index {NAME}")


def down(ops) -> None:
    ops.db.execute_sql(f'DROP INDEX IF EXISTS "{NAME}"')
    ops.done.append(f"dropped index {NAME}")
