"""Voice Agent campaign calls, the writer-thread jobs: the ready agents the dialer paces by,
the wait of an answered contact for an agent (a QueueCall row with the campaign set, so the
campaign's abandon rate is live), and an abandoned contact queued again for the call back
the abandoned message promises."""
from __future__ import annotations

import datetime as dt

from models import CampaignContact
from models.entities import QueueCall, utcnow
from voxcast.agents import states


def ready_extensions(tenant_id: int, user_ids) -> list[str]:
    """The extensions of the campaign's agents who are ready now (sessions in "ready"); the
    app keeps those whose phone is registered."""
    if not user_ids:
        return []
    return [a.extension for a in states.ready_agents(tenant_id, list(user_ids))]


def open_wait(tenant_id: int, campaign_id: int, call_id: int, caller: str,
              entered_at: dt.datetime) -> int:
    """A person answered (after AMD): their wait for an agent starts. The ACD fills in the
    agent and the outcome "answered" when one takes it (voxcast.acd.store.answered)."""
    return QueueCall.insert(tenant=tenant_id, campaign=campaign_id, call=call_id, caller=caller,
                            entered_at=entered_at).execute()


def close_abandoned(queue_call_id: int, ended_at: dt.datetime | None = None) -> None:
    """No agent took the call within the time allowed (or the person hung up first)."""
    ended_at = ended_at or utcnow()
    row = QueueCall.get_or_none(QueueCall.id == queue_call_id)
    if row is None or row.outcome:
        return
    wait = max(0, round((ended_at - row.entered_at).total_seconds()))
    (QueueCall.update(outcome="abandoned", ended_at=ended_at, wait_seconds=wait)
     .where(QueueCall.id == queue_call_id, QueueCall.outcome == "").execute())


def requeue_abandoned(entry_id: int, retry_interval: int, max_attempts: int,
                      now: dt.datetime | None = None) -> bool:
    """After the abandoned call's CDR closed (which marked the contact done, as answered):
    the contact is dialled again in `retry_interval` seconds, up to `max_attempts` attempts
    in all, since the message told them "we will call you back". True when queued again."""
    now = now or utcnow()
    return bool(CampaignContact.update(
        state="pending", last_disposition="ABANDONED",
        next_attempt_at=now + dt.timedelta(seconds=max(30, retry_interval)))
        .where(CampaignContact.id == entry_id, CampaignContact.state == "done",
               CampaignContact.attempts < max_attempts).execute())
