"""A campaign that records its calls: the recording exists, holds the call, is linked to the
CDR and counts against the tenant's disk quota."""
from __future__ import annotations

import wave

from models import Call, Campaign
from voxcast.tenants import quotas
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def test_given_recording_campaign_when_call_answered_then_recording_is_linked_and_counted(
        stasis_app, settings, master, workdir):
    campaign = make_campaign(master, settings, unique_phones(1),
                             text="This call is recorded for quality purposes. Goodbye.")
    Campaign.update(record=True).where(Campaign.id == campaign.id).execute()
    before = quotas.disk_bytes(master, settings.sounds_dir, settings.recordings_dir)
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1).start()
    try:
        campaign_service.start(reload(campaign), settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()

    (call,) = Call.select().where(Call.campaign == campaign)
    assert call.disposition == "ANSWERED"
    assert call.recording == f"{master.id}-{call.id}.wav"
    path = settings.recordings_dir / call.recording
    wait_for(lambda: path.exists() and path.stat().st_size > 44, 10, message=f"{path} written")
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert abs(seconds - call.billsec) <= 1.5, (seconds, call.billsec)
    assert path in quotas.recording_files(master, settings.recordings_dir)
    after = quotas.disk_bytes(master, settings.sounds_dir, settings.recordings_dir)
    assert after - before >= path.stat().st_size
