"""Asterisk stopped while a campaign dials (`core stop now`, as `voxcast asterisk stop` and a
service restart do): for about a second it refuses every new channel ("Allocation failed")
while ARI still answers, then closes the socket, and originates meanwhile find nothing
listening. Those contacts were never called: each is queued again with its attempt uncounted
and dialled once Asterisk is back, so every contact gets exactly one INVITE at the far end."""
from __future__ import annotations


from models import Call, CampaignContact
from voxcast.runtime import asterisk

from .conftest import wait_for
from .dialing import dialing
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def test_given_asterisk_stopped_while_dialing_then_refused_contacts_are_dialled_once_later(
        stasis_app, settings, master, workdir):
    phones = unique_phones(60)
    campaign = make_campaign(master, settings, phones, channel_limit=60, retry_failed=0,
                             retry_busy=0, retry_noanswer=0, text="Hello from voxcast, goodbye.")
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1000, timeout=240).start()
    with dialing(campaign, settings, uas, stasis_app):
        wait_for(lambda: Call.select().where(Call.campaign == campaign,
                                             Call.placed_at.is_null(False)).count() >= 3, 60,
                 interval=0.02, message="the first calls placed")
        asterisk.stop(settings)  # mid-campaign: the dialer is still originating
        stasis_app.wait_ari("down", timeout=20)
        asterisk.start(settings)
        stasis_app.wait_ari("connected", timeout=30)
        wait_for(lambda: reload(campaign).status == "completed", 180,
                 message=f"campaign completed\n{stasis_app.log_tail()}")

    # this campaign's numbers only: an earlier test's call may still retransmit its INVITE
    # to the trunk port (PJSIP keeps at it for 32 s after the channel is gone)
    invites = {n: k for n, k in uas.invites_by_number().items() if n in set(phones)}
    calls = list(Call.select().where(Call.campaign == campaign))
    refused = [c for c in calls if c.disposition == "NOT PLACED"]
    assert all(c.ended_at is not None for c in calls), "a CDR was left open"
    assert not [c for c in calls if c.cause_txt.startswith("originate failed")], \
        [(c.number, c.cause_txt) for c in calls if c.cause_txt.startswith("originate failed")]
    assert sorted(invites) == sorted(phones), \
        f"never dialled: {sorted(set(phones) - set(invites))}"
    assert set(invites.values()) == {1}, f"dialled twice: {[p for p, n in invites.items() if n > 1]}"
    for c in refused:  # the refused attempt did not count
        assert c.cause_txt.startswith("not placed:") and c.billsec == 0, c.cause_txt
    entries = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert all(e.attempts == 1 for e in entries), [(e.phone, e.attempts) for e in entries
                                                    if e.attempts != 1]
