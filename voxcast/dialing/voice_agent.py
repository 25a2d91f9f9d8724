"""Voice Agent campaign calls, the writer-thread jobs: the ready agents the dialer paces by,
the wait of an answered contact for an agent (a QueueCall row with the campaign set, so the
campaign's abandon rate is live), and an abandoned contact queued again for the call back
the abandoned message promises."""
from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass

from peewee import JOIN, Case, fn

from models import CampaignContact, SystemStatus
from models.entities import AgentSession, Call, Extension, QueueCall, utcnow
from voxcast.agents import states
from voxcast.dialing.predictive import CampaignHistory
from voxcast.runtime import status


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


# -- predictive pacing's figures (voxcast.dialing.predictive) ---------------------------------

PACING_WINDOW_S = 900  # the rolling window of the answer and abandon rates
STUCK_OPEN_S = 3600  # an open wait older than this (a crash left it) no longer holds totals back


@dataclass(frozen=True)
class AgentSnapshot:
    """The campaign's agents as the predictive pacing sees them."""
    ready_extensions: tuple = ()  # the app keeps those whose phone is registered
    on_call_since: tuple = ()  # ringing or talking: since when
    wrapup_until: tuple = ()
    on_call_extensions: tuple = ()  # the extension of each on_call_since
    wrapup_extensions: tuple = ()  # the extension of each wrapup_until

    @property
    def working(self) -> int:
        return len(self.ready_extensions) + len(self.on_call_since) + len(self.wrapup_until)

    def registered_here(self, registered) -> AgentSnapshot:
        """Only the agents whose phone `registered(extension)` on this node. In a cluster a
        tenant's agents are on its home node (Kamailio): another node must neither count them
        nor dial for them, since it could never put its answered calls through to them."""
        on_call = [(e, s) for e, s in zip(self.on_call_extensions, self.on_call_since)
                   if registered(e)]
        wrapup = [(e, u) for e, u in zip(self.wrapup_extensions, self.wrapup_until)
                  if registered(e)]
        return AgentSnapshot(tuple(e for e in self.ready_extensions if registered(e)),
                             tuple(s for _, s in on_call), tuple(u for _, u in wrapup),
                             tuple(e for e, _ in on_call), tuple(e for e, _ in wrapup))


def agent_snapshot(tenant_id: int, user_ids) -> AgentSnapshot:
    """One indexed read of the campaign agents' live sessions."""
    if not user_ids:
        return AgentSnapshot()
    ready = tuple(a.extension for a in states.ready_agents(tenant_id, list(user_ids)))
    on_call, wrapup = [], []
    for state, since, until, number in (
            AgentSession.select(AgentSession.state, AgentSession.state_since,
                                AgentSession.wrapup_until, Extension.number)
            .join(Extension, JOIN.LEFT_OUTER, on=(AgentSession.extension == Extension.id))
            .where(AgentSession.tenant == tenant_id,
                   AgentSession.ended_at.is_null(),
                   AgentSession.user.in_(list(user_ids)),
                   AgentSession.state.in_(("ringing", "on_call", "wrapup")))
            .tuples()):
        if state == "wrapup":
            if until is not None:  # an open-ended wrap-up is not expected to end soon
                wrapup.append((number, until))
        else:
            on_call.append((number, since))
    return AgentSnapshot(ready, tuple(s for _, s in on_call), tuple(u for _, u in wrapup),
                         tuple(e for e, _ in on_call), tuple(e for e, _ in wrapup))


@dataclass(frozen=True)
class AbandonTotals:
    """The campaign's live answers and abandons over its whole run, kept incrementally: rows
    entered before `settled_at` are all closed and summed in `base_*`; only the newer ones are
    counted again at each refresh, so a long campaign is never rescanned."""
    settled_at: dt.datetime | None = None
    base_live: int = 0
    base_abandoned: int = 0
    live: int = 0
    abandoned: int = 0


def _count(tenant_id: int, campaign_id: int, since, until) -> tuple[int, int]:
    query = QueueCall.select(fn.COUNT(QueueCall.id),
                             fn.SUM(Case(None, [(QueueCall.outcome == "abandoned", 1)], 0)))
    query = query.where(QueueCall.tenant == tenant_id, QueueCall.campaign == campaign_id)
    if since is not None:
        query = query.where(QueueCall.entered_at >= since)
    if until is not None:
        query = query.where(QueueCall.entered_at < until)
    live, abandoned = query.tuples().get()
    return int(live or 0), int(abandoned or 0)


def abandon_totals(tenant_id: int, campaign_id: int, prior: AbandonTotals | None,
                   now: dt.datetime) -> AbandonTotals:
    prior = prior or AbandonTotals()
    oldest_open = (QueueCall.select(fn.MIN(QueueCall.entered_at))
                   .where(QueueCall.tenant == tenant_id, QueueCall.campaign == campaign_id,
                          QueueCall.outcome == "",
                          QueueCall.entered_at >= now - dt.timedelta(seconds=STUCK_OPEN_S))
                   .scalar())
    settled = min(oldest_open or now, now - dt.timedelta(seconds=60))
    if prior.settled_at is not None and settled < prior.settled_at:
        settled = prior.settled_at
    live, abandoned = _count(tenant_id, campaign_id, prior.settled_at, settled)
    base_live, base_ab = prior.base_live + live, prior.base_abandoned + abandoned
    tail_live, tail_ab = _count(tenant_id, campaign_id, settled, None)
    return AbandonTotals(settled, base_live, base_ab, base_live + tail_live, base_ab + tail_ab)


def campaign_history(tenant_id: int, campaign_id: int, totals: AbandonTotals,
                     now: dt.datetime, window_s: int = PACING_WINDOW_S) -> CampaignHistory:
    """The rolling window's figures (answer rate, handle time, answer delay, abandons) with
    the whole run's totals: reads only the window's rows (tenant, time indexes)."""
    since = now - dt.timedelta(seconds=window_s)
    placed = (Call.select(fn.COUNT(Call.id))
              .where(Call.tenant == tenant_id, Call.started_at >= since,
                     Call.campaign == campaign_id, Call.direction == "outbound",
                     (Call.answered_at.is_null(False)) | (Call.ended_at.is_null(False)))
              .scalar()) or 0
    live = abandoned = 0
    talks, delays = [], []
    rows = (QueueCall.select(QueueCall.entered_at, QueueCall.answered_at, QueueCall.ended_at,
                             QueueCall.outcome, Call.started_at)
            .join(Call, JOIN.LEFT_OUTER, on=(QueueCall.call == Call.id))
            .where(QueueCall.tenant == tenant_id, QueueCall.entered_at >= since,
                   QueueCall.campaign == campaign_id).tuples())
    for entered, answered, ended, outcome, started in rows:
        live += 1
        abandoned += outcome == "abandoned"
        if answered is not None and ended is not None:
            talks.append((ended - answered).total_seconds())
        if started is not None:
            delays.append(max(0.0, (entered - started).total_seconds()))
    return CampaignHistory(
        window_placed=max(placed, live), window_live=live, window_abandoned=abandoned,
        live_total=totals.live, abandoned_total=totals.abandoned,
        handle_mean_s=statistics.fmean(talks) if len(talks) >= 5 else None,
        handle_sd_s=statistics.pstdev(talks) if len(talks) >= 5 else None,
        answer_delay_s=statistics.fmean(delays) if len(delays) >= 5 else None,
        answer_delay_sd_s=statistics.pstdev(delays) if len(delays) >= 5 else None)


def pacing_status_key(campaign_id: int) -> str:
    return f"pacing:{campaign_id}"


def publish_pacing(campaign_id: int, decision: dict) -> None:
    """The dialer's latest decision (dial level, mode, target), for the web UI."""
    status.set_status(pacing_status_key(campaign_id), json.dumps(decision))


def campaign_figures(tenant_id: int, campaign_id: int, now: dt.datetime | None = None) -> dict:
    """A campaign's pacing figures for the campaign page, the wallboard and statistics:
    abandon rate over the run and the rolling window (percent of live answers), answer rate,
    average handle time, and the dialer's current dial level when it published one lately."""
    now = now or utcnow()
    live, abandoned = _count(tenant_id, campaign_id, None, None)
    window = campaign_history(tenant_id, campaign_id, AbandonTotals(live=live,
                                                                    abandoned=abandoned), now)
    out = {
        "live_answered": live, "abandoned": abandoned,
        "abandon_pct": round(100.0 * abandoned / live, 2) if live else 0.0,
        "window_minutes": PACING_WINDOW_S // 60,
        "window_live_answered": window.window_live,
        "window_abandon_pct": (round(100.0 * window.window_abandoned / window.window_live, 2)
                               if window.window_live else 0.0),
        "answer_rate_pct": (round(100.0 * window.window_live / window.window_placed, 1)
                            if window.window_placed else None),
        "aht_seconds": round(window.handle_mean_s) if window.handle_mean_s else None,
        "dial_level": None, "pacing": None, "target_pct": None,
    }
    row = SystemStatus.get_or_none(SystemStatus.key == pacing_status_key(campaign_id))
    if row is not None and row.updated_at >= now - dt.timedelta(seconds=60):
        try:
            published = json.loads(row.value)
        except ValueError:
            published = {}
        out["dial_level"] = published.get("level")
        out["pacing"] = published.get("mode")
        out["target_pct"] = published.get("target_pct")
    return out
