"""Work to do once the writer's transaction has committed, and only then.

The Stasis app's writer re-runs every job of a batch after a rollback
(ari_app.writer.Writer._run_batch), so a job
must not change memory in a way a second run cannot repeat: forgetting a call's credit
Grant in the first run would leave the re-run nothing to settle. Such changes go through
`after_commit`; outside a writer transaction they happen at once."""
from __future__ import annotations

import threading
from typing import Callable

_local = threading.local()


def after_commit(action: Callable[[], object]) -> None:
    pending = getattr(_local, "pending", None)
    if pending is None:
        action()
    else:
        pending.append(action)


def begin() -> None:
    _local.pending = []


def end(committed: bool) -> None:
    """Run (committed) or drop (rolled back) what the transaction's jobs left to do."""
    pending, _local.pending = getattr(_local, "pending", None) or [], None
    if committed:
        for action in pending:
            action()
