"""The delivery side of the outbox (WebhookDelivery), for the `voxcast webhooks` process:
claiming what is due and recording each attempt's outcome. Plain database work, no asyncio.

Claiming is a compare-and-set per row: a due row (pending, next_attempt_at <= now) is taken
by moving its next_attempt_at forward by a lease and counting the attempt, `WHERE` it is still
due, so two senders (or a sender and its restarted self) never post the same row at once. If
the sender dies during the POST, the lease runs out and the row is due again: nothing is lost.
A row becomes "delivered" only on a 2xx answer, and a delivered row is never claimed again;
the one case that posts twice is a crash between the receiver's 2xx and that write, which is
why every attempt carries the same X-Voxcast-Delivery id for the receiver to drop repeats."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models import database
from models.entities import WebhookDelivery, WebhookEndpoint, utcnow
from voxcast.webhooks import endpoints
from voxcast.webhooks.retry import Schedule

LEASE_S = 120  # longer than any attempt (timeouts are far shorter)
KEEP_DAYS = 30  # delivered and failed rows are purged after this long


@dataclass(frozen=True)
class Job:
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    event_id: str
    payload: str
    attempt: int  # this attempt's number, from 1
    public_only: bool = False  # a tenant's endpoint: never posted to a private address


def claim(limit: int = 50, *, now: dt.datetime | None = None, lease_s: int = LEASE_S) -> list[Job]:
    now = now or utcnow()
    until = now + dt.timedelta(seconds=lease_s)
    due = list(WebhookDelivery
               .select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.event_id,
                       WebhookDelivery.payload, WebhookDelivery.attempts,
                       WebhookEndpoint.id.alias("endpoint_id"), WebhookEndpoint.url,
                       WebhookEndpoint.secret, WebhookEndpoint.tenant)
               .join(WebhookEndpoint)
               .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                      WebhookEndpoint.active == True)  # noqa: E712
               .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
               .limit(limit).dicts())
    jobs = []
    for row in due:
        with database.atomic():
            taken = (WebhookDelivery
                     .update(next_attempt_at=until, attempts=WebhookDelivery.attempts + 1)
                     .where(WebhookDelivery.id == row["id"], WebhookDelivery.state == "pending",
                            WebhookDelivery.next_attempt_at <= now)
                     .execute())
        if taken:
            jobs.append(Job(row["id"], row["endpoint_id"], row["url"], row["secret"],
                            row["event"], row["event_id"], row["payload"], row["attempts"] + 1,
                            public_only=endpoints.public_only(row["tenant"])))
    return jobs


def finish(job: Job, status: int | None, error: str, schedule: Schedule,
           now: dt.datetime | None = None) -> str:
    """Record one attempt: 2xx delivered; otherwise again after the schedule's delay, or
    failed after its last attempt. Returns the new state."""
    now = now or utcnow()
    if status is not None and 200 <= status < 300:
        state, values = "delivered", {"delivered_at": now, "last_error": ""}
    else:
        again = schedule.next_attempt(job.attempt, now)
        state = "pending" if again is not None else "failed"
        values = {"next_attempt_at": again or now, "last_error": (error or "")[:1000]}
    (WebhookDelivery.update(state=state, last_status=status, **values)
     .where(WebhookDelivery.id == job.delivery_id, WebhookDelivery.state == "pending")
     .execute())
    return state


def next_due(now: dt.datetime | None = None) -> dt.datetime | None:
    """When the earliest pending delivery of an active endpoint is due (None: none pending)."""
    row = (WebhookDelivery.select(WebhookDelivery.next_attempt_at).join(WebhookEndpoint)
           .where(WebhookDelivery.state == "pending", WebhookEndpoint.active == True)  # noqa: E712
           .order_by(WebhookDelivery.next_attempt_at).first())
    return row.next_attempt_at if row else None


def counts() -> dict[str, int]:
    from peewee import fn
    return {state: n for state, n in
            WebhookDelivery.select(WebhookDelivery.state, fn.COUNT(WebhookDelivery.id))
            .group_by(WebhookDelivery.state).tuples()}


def purge(now: dt.datetime | None = None, keep_days: int = KEEP_DAYS) -> int:
    before = (now or utcnow()) - dt.timedelta(days=keep_days)
    return (WebhookDelivery.delete()
            .where(WebhookDelivery.state.in_(["delivered", "failed"]),
                   WebhookDelivery.created_at < before).execute())
