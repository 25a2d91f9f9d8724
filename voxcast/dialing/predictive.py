"""Predictive pacing of Voice Agent campaigns: how many calls to place now so that agents stay
busy while the campaign's abandon rate (abandoned / live-answered calls) never exceeds its cap.

The model looks one "answer delay" ahead (placement to a person handed over: ring + AMD, plus
the grace the abandon rule allows): agents expected free by then (ready now, in a wrap-up that
ends by then, on a call that is likely to end by then given how long it has run, under a
lognormal fit of the handle times) against the persons expected to answer by then (those
waiting, the calls still ringing, and the new ones). Their difference is taken as normal; its
positive part is the expected number of abandoned calls. The largest batch is placed whose
expected abandons stay within a target rate of the expected answers and within the campaign's
abandon budget (cap x live-answered calls so far and expected, less those already abandoned).
The target tightens as the campaign's own rate (whole run and a rolling window) nears the cap;
once the budget is spent only agents who are ready now are dialled for, at a fraction of the
cap. Everything it sees is what the dialer sees (agent states, its calls in progress, figures
of the campaign's finished calls); nothing here knows how the calls will go.

Pure: no database, no clock. `voxcast.dialing.voice_agent` gathers the figures, `ari_app.dialer`
calls `decide` every tick, `bench/pacing.py` drives the same function in a simulation."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from voxcast.dialing.pacing import agent_lines

PACING_MODES = ("ratio", "predictive")
MIN_CAP_PCT = 0.5
MAX_CAP_PCT = 10.0
DEFAULT_CAP_PCT = 3.0

# Priors for a campaign that has no history yet: pessimistic where a wrong guess abandons calls
# (a high answer rate dials fewer lines), weighted as this many calls of evidence.
PRIOR_ANSWER_RATE = 1.0  # until its calls say otherwise, every line may become a person
PRIOR_CALLS = 20
PRIOR_ANSWER_DELAY_S = 0.25  # answers at once: agents are not expected to free up in time
PRIOR_HANDLE_S = 180.0
PRIOR_HANDLE_SD_S = 120.0
# The rolling abandon rate counts this many live answers of prior evidence at the target rate,
# so the first abandon of a run does not stop it.
PRIOR_LIVE = 50
MAX_LINES_PER_AGENT = 12  # a hard bound whatever the figures say (answer rate floor ~8 %)
# Offering the call to an agent (originate, the phone's ring or auto-answer, the bridge) takes
# part of the abandon rule's seconds: up to a second on a busy host.
AGENT_ANSWER_S = 1.0


@dataclass(frozen=True)
class PacingSettings:
    """The campaign's own settings (Campaign.pacing_mode, dial_ratio, abandon_cap_pct)."""
    mode: str = "ratio"
    dial_ratio: float = 1.0
    abandon_cap_pct: float = DEFAULT_CAP_PCT
    wrapup_s: float = 0.0  # after-call work the ACD holds each agent in (Campaign.wrapup_seconds)
    grace_s: float = 1.0  # how long a person may wait for an agent to be picked

    @property
    def cap(self) -> float:
        return min(MAX_CAP_PCT, max(MIN_CAP_PCT, float(self.abandon_cap_pct))) / 100.0


@dataclass(frozen=True)
class CampaignHistory:
    """Figures of the campaign's finished calls (the database's view, refreshed every few
    seconds). `window_*`: the rolling window; `live_total`/`abandoned_total`: the whole run."""
    window_placed: int = 0  # calls whose outcome is known (answered or ended), in the window
    window_live: int = 0  # of those, persons who answered (machines excluded)
    window_abandoned: int = 0
    live_total: int = 0
    abandoned_total: int = 0
    handle_mean_s: float | None = None  # agent talk time of answered calls
    handle_sd_s: float | None = None
    answer_delay_s: float | None = None  # placement -> person handed over (ring + AMD)
    answer_delay_sd_s: float | None = None


@dataclass(frozen=True)
class LiveFigures:
    """What the dialer sees now."""
    ready: int = 0
    on_call_elapsed: tuple = ()  # seconds each agent on a campaign call has talked so far
    wrapup_left: tuple = ()  # seconds of wrap-up left, per agent in wrap-up
    ringing_elapsed: tuple = ()  # seconds since placement, per call not answered yet
    waiting: int = 0  # persons answered, waiting for an agent (or in AMD)
    history: CampaignHistory = field(default_factory=CampaignHistory)

    @property
    def agents(self) -> int:
        return self.ready + len(self.on_call_elapsed) + len(self.wrapup_left)


@dataclass(frozen=True)
class Decision:
    lines: int  # calls to place now
    level: float  # lines in progress (and to place) per working agent, for display
    mode: str  # ratio | predictive | capped (abandon budget spent)
    target_pct: float = 0.0  # the abandon rate the batch was sized for


# -- estimates ---------------------------------------------------------------------------------

def answer_rate(history: CampaignHistory) -> float:
    """Live answers / decided calls in the window, shrunk towards the prior early on."""
    placed = max(0, history.window_placed)
    live = min(max(0, history.window_live), placed)
    return min(1.0, max(0.02, (live + PRIOR_ANSWER_RATE * PRIOR_CALLS) / (placed + PRIOR_CALLS)))


def abandon_rate(abandoned: int, live: int) -> float:
    return abandoned / live if live > 0 else 0.0


@dataclass(frozen=True)
class _LogNormal:
    mu: float
    sigma: float

    @classmethod
    def fit(cls, mean: float, sd: float) -> "_LogNormal":
        mean = max(1.0, mean)
        sd = max(0.1 * mean, sd)
        s2 = math.log(1.0 + (sd / mean) ** 2)
        return cls(math.log(mean) - s2 / 2, math.sqrt(s2))

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return 0.5 * math.erfc(-(math.log(x) - self.mu) / (self.sigma * math.sqrt(2)))


def _ends_within(dist: _LogNormal, elapsed: float, window: float) -> float:
    """P(a call that has run `elapsed` seconds ends within `window` more)."""
    if window <= 0:
        return 0.0
    done = dist.cdf(elapsed)
    alive = 1.0 - done
    if alive < 1e-9:
        return 1.0
    return min(1.0, max(0.0, (dist.cdf(elapsed + window) - done) / alive))


def _excess(mean: float, var: float) -> float:
    """E[max(0, X)] for X normal(mean, var)."""
    sd = math.sqrt(max(var, 1e-9))
    z = mean / sd
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    return sd * pdf + mean * cdf


def target_rate(cap: float, history: CampaignHistory) -> float:
    """The abandon rate a new batch is sized for: up to 1.5 x the cap while the campaign is
    well under it (the model's estimate errs on the cautious side), falling to a tenth of it as
    the whole run's rate, or the rolling window's, nears the cap: the campaign's own record
    calibrates the model."""
    overall = abandon_rate(history.abandoned_total, history.live_total)
    rolling = ((history.window_abandoned + 0.5 * cap * PRIOR_LIVE)
               / (history.window_live + PRIOR_LIVE))
    worst = max(overall, rolling)
    headroom = max(0.0, min(1.0, (cap - worst) / cap))
    return cap * max(0.1, 1.5 * headroom)


# -- the decision ------------------------------------------------------------------------------

def decide(settings: PacingSettings, figures: LiveFigures) -> Decision:
    """How many calls to place now. Never dials without a working agent; ratio mode is
    today's lines per ready agent (voxcast.dialing.pacing.agent_lines)."""
    in_progress = len(figures.ringing_elapsed) + figures.waiting
    agents = figures.agents
    if settings.mode != "predictive":
        lines = agent_lines(settings.dial_ratio, figures.ready, in_progress)
        return Decision(lines, _level(in_progress + lines, agents), "ratio")
    if agents == 0:
        return Decision(0, 0.0, "predictive")
    history = figures.history
    cap = settings.cap
    p = answer_rate(history)
    delay = history.answer_delay_s or PRIOR_ANSWER_DELAY_S
    horizon = delay + settings.grace_s
    overall_spent = history.abandoned_total >= cap * history.live_total and history.live_total > 0

    # Persons expected to answer from calls already in progress: those waiting, and each call
    # still ringing after `e` s, a person with p S(e) / (p S(e) + 1 - p) (S: the survival of
    # the answer delay; its other outcomes are taken to come late, the cautious way).
    arrive = float(figures.waiting)
    arrive_var = 0.0
    # Without observed delays yet every ringing call still counts at p (the short prior delay
    # is cautious for freeing agents, not for writing calls off).
    dd = (_LogNormal.fit(delay, history.answer_delay_sd_s or delay / 2)
          if history.answer_delay_s else None)
    for elapsed in figures.ringing_elapsed:
        alive = 1.0 - dd.cdf(elapsed) if dd is not None else 1.0
        q = p * alive / (p * alive + 1 - p)
        arrive += q
        arrive_var += q * (1 - q)

    # Agents free by then: ready, leaving wrap-up, or likely to end their talk in time for
    # their wrap-up to be over (none of those once the budget is spent).
    free = float(figures.ready)
    free_var = 0.0
    if not overall_spent:
        for left in figures.wrapup_left:
            if left <= horizon:
                free += 1
        talk = _LogNormal.fit(history.handle_mean_s or PRIOR_HANDLE_S,
                              history.handle_sd_s or PRIOR_HANDLE_SD_S)
        window = horizon - settings.wrapup_s
        for elapsed in figures.on_call_elapsed:
            q = _ends_within(talk, elapsed, window)
            free += q
            free_var += q * (1 - q)

    if overall_spent:
        target = cap / 4
        bound = max(0, math.ceil(figures.ready / p) - in_progress)
    else:
        target = target_rate(cap, history)
        bound = MAX_LINES_PER_AGENT * agents
    budget_base = cap * history.live_total - history.abandoned_total

    def fits(n: int) -> bool:
        mean_arr = arrive + n * p
        expected_ab = _excess(mean_arr - free, arrive_var + n * p * (1 - p) + free_var)
        allowed = target * mean_arr
        if not overall_spent:  # spent: the low target alone brings the run's rate back down
            allowed = min(allowed, budget_base + cap * mean_arr)
        return expected_ab <= allowed

    lines = 0
    lo, hi = 0, bound
    while lo < hi:  # expected abandons grow with n faster than the allowance: bisect
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    lines = lo
    return Decision(lines, _level(in_progress + lines, agents),
                    "capped" if overall_spent else "predictive", round(target * 100, 2))


def _level(lines: int, agents: int) -> float:
    return round(lines / agents, 2) if agents else 0.0


def campaign_figures(tenant_id: int, campaign_id: int, now=None) -> dict:
    """The campaign's live pacing figures for other features (campaign page, wallboard,
    campaign statistics): the one function here that reads the database, through
    voxcast.dialing.voice_agent (imported here only, so the pacing itself stays pure)."""
    from voxcast.dialing import voice_agent
    return voice_agent.campaign_figures(tenant_id, campaign_id, now)
