"""Q.850 hangup causes to the dispositions tenants see on CDRs."""
from __future__ import annotations

BUSY_CAUSES = frozenset({17})
NO_ANSWER_CAUSES = frozenset({18, 19, 16})  # 16 before answer: the originate timed out / was cancelled
CONGESTION_CAUSES = frozenset({34, 38, 41, 42, 44, 47})


def disposition(answered: bool, cause: int, rang: bool = True, machine: bool = False) -> str:
    """`rang`: the far end sent ringing. A timeout without it means the trunk never answered
    our INVITE at all, which is a failure of the route, not a contact who did not pick up.
    `machine`: answering-machine detection said MACHINE (the answer was a voicemail)."""
    if answered and machine:
        return "MACHINE"
    if answered:
        return "ANSWERED"
    if cause in BUSY_CAUSES:
        return "BUSY"
    if cause in NO_ANSWER_CAUSES:
        return "NO ANSWER" if rang else "FAILED"
    if cause in CONGESTION_CAUSES:
        return "CONGESTION"
    return "FAILED"
