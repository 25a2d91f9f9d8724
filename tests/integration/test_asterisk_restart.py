"""The Stasis app survives an Asterisk restart: it reconnects and resubscribes by itself."""
from __future__ import annotations

from models import Call
from voxcast.runtime import asterisk
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def test_given_asterisk_restarted_when_campaign_runs_then_calls_work_without_app_restart(
        stasis_app, settings, master, workdir):
    pid_before = stasis_app.proc.pid
    asterisk.stop(settings)
    stasis_app.wait_ari("down", timeout=20)

    # A campaign started while Asterisk is down waits, with a reason, and loses nothing.
    campaign = make_campaign(master, settings, unique_phones(2), channel_limit=2)
    campaign_service.start(campaign, settings)
    wait_for(lambda: "Waiting for Asterisk" in reload(campaign).status_reason, 10,
             message="waiting reason shown")
    assert Call.select().where(Call.campaign == campaign).count() == 0

    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        asterisk.start(settings)
        stasis_app.wait_ari("connected", timeout=30)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    assert stasis_app.proc.pid == pid_before and stasis_app.alive()
    calls = list(Call.select().where(Call.campaign == campaign))
    assert [c.disposition for c in calls] == ["ANSWERED", "ANSWERED"]
    assert reload(campaign).status_reason == ""
