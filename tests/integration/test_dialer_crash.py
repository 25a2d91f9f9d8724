"""Crash durability: the Stasis app is SIGKILLed mid-campaign and started again. Every contact
is dialed exactly once (counted from the INVITEs sipp received) and every CDR is closed."""
from __future__ import annotations

import signal
from collections import Counter

from models import Call, Campaign, CampaignContact
from voxcast import campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def test_given_app_killed_mid_campaign_when_restarted_then_each_contact_dialed_once(
        stasis_app, settings, master, workdir):
    phones = unique_phones(20)
    campaign = make_campaign(master, settings, phones, channel_limit=3,
                             text="Hello from voxcast, goodbye.")
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=20, timeout=180).start()
    try:
        campaign_service.start(campaign, settings)

        def mid_campaign():
            done = Call.select().where(Call.campaign == campaign,
                                       Call.ended_at.is_null(False)).count()
            live = Call.select().where(Call.campaign == campaign, Call.answered_at.is_null(False),
                                       Call.ended_at.is_null()).count()
            return done >= 5 and live >= 1
        wait_for(mid_campaign, 60, interval=0.05, message="a few calls done, some in progress")
        stasis_app.stop(signal.SIGKILL)
        in_flight = Call.select().where(Call.campaign == campaign, Call.ended_at.is_null()).count()
        assert in_flight >= 1  # the crash really hit calls in progress
        stasis_app.start()
        wait_for(lambda: reload(campaign).status == "completed", 120,
                 message=f"campaign completed after the crash\n{stasis_app.log_tail()}")
        uas.wait(30)
    finally:
        uas.stop()
        # whatever happened, leave no campaign dialing and the app up for the next tests
        Campaign.update(status="stopped").where(Campaign.id == campaign.id,
                                                Campaign.status != "completed").execute()
        if not stasis_app.alive():
            stasis_app.start()

    invites = Counter()
    for msgs in uas.dialogs().values():
        invite = next(m for m in msgs if m.method == "INVITE" and not m.sent)
        invites[invite.first_line.split()[1].split("@")[0].removeprefix("sip:")] += 1
    assert sorted(invites) == sorted(phones), "a contact was skipped or a stranger dialed"
    assert set(invites.values()) == {1}, f"dialed twice: {[p for p, n in invites.items() if n > 1]}"

    calls = list(Call.select().where(Call.campaign == campaign))
    assert all(c.ended_at is not None for c in calls), "a CDR was left open"
    placed = Counter(c.number for c in calls if c.disposition != "NOT PLACED")
    assert set(placed.values()) == {1} and sorted(placed) == sorted(phones)
    for c in calls:
        if c.disposition == "NOT PLACED":
            assert c.billsec == 0
        elif c.answered_at is not None:
            assert c.disposition == "ANSWERED" and c.billsec >= 0
    entries = list(CampaignContact.select().where(CampaignContact.campaign == campaign))
    assert all(e.state in ("done", "failed") and e.attempts == 1 for e in entries), \
        [(e.phone, e.state, e.attempts) for e in entries if e.attempts != 1]
