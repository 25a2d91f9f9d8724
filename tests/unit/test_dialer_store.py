"""The dialer's durable state on a real SQLite file: batched claims, contacts deferred to their
own calling window, and closing CDRs an earlier (crashed) run left open."""
from __future__ import annotations

import datetime as dt

from voxcast.campaigns.lifecycle import Cause
from voxcast.cdr import records as cdr
from voxcast.runtime import channel_log
from voxcast.dialing import claims as ari_claims
from voxcast.runtime.channel_log import ChannelTrace
from voxcast.dialing.admission import Admission, DncCheck, Gate
from voxcast.cdr.records import Cdrs
from voxcast.dialing.claims import Claims
from models import Call, CampaignContact, Tenant
from voxcast.campaigns import calling_hours as ch

from .test_dnc_dialer import _campaign, claims, database  # noqa: F401  (fixtures)

NOW = dt.datetime(2026, 1, 5, 15, 0)  # Monday 15:00 UTC: 10:00 New York, 16:00 Paris


def test_claim_is_batched_and_each_claim_has_its_open_cdr(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, [f"+1202555010{i}" for i in range(5)])
    claimed = claims.claim_due(campaign.id, 3, NOW)
    assert len(claimed) == 3 and len({c.channel_id for c in claimed}) == 3
    for claim in claimed:
        call = Call.get_by_id(claim.call_id)
        assert call.channel_id == claim.channel_id and call.ended_at is None
        assert call.placed_at is None  # not yet accepted by Asterisk
        assert CampaignContact.get_by_id(claim.entry_id).state == "dialing"
    assert len(claims.claim_due(campaign.id, 10, NOW)) == 2
    assert claims.claim_due(campaign.id, 10, NOW) == []


def test_contact_outside_its_own_window_is_deferred_without_blocking_others(database, claims):
    acme = Tenant.create(name="Acme", slug="acme", timezone="America/New_York")
    campaign = _campaign(acme, ["+33142685300", "+12125550100"])  # Paris, New York
    rules = ([ch.Window("01234", "09:00", "12:00")],)  # 10:00 in New York, 16:00 in Paris
    claimed = claims.claim_due(campaign.id, 10, NOW, rules)
    assert [c.phone for c in claimed] == ["+12125550100"]
    paris = CampaignContact.get(CampaignContact.phone == "+33142685300")
    assert paris.state == "pending" and paris.attempts == 0
    assert paris.next_attempt_at == dt.datetime(2026, 1, 6, 8, 0)  # Tuesday 09:00 Paris


def test_admission_check_refusal_undoes_the_claim(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102"])

    class NoSecond(Gate):
        def admit(self, claims):
            return claims[1:], Cause("no_credit")

    claimed = Claims(Admission([DncCheck(), NoSecond()])).claim_due(campaign.id, 10, NOW)
    assert len(claimed) == 1
    assert Call.select().count() == 1
    refused = CampaignContact.get(CampaignContact.id != claimed[0].entry_id)
    assert (refused.state, refused.attempts) == ("pending", 0)


def test_lost_calls_are_told_apart_after_a_crash(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103"])
    never, ringing, talking = claims.claim_due(campaign.id, 3, NOW)
    cdrs = Cdrs(claims.admission)
    ari_claims.mark_placed([ringing.call_id, talking.call_id], NOW)
    cdr.mark_answered(talking.call_id, NOW + dt.timedelta(seconds=2))
    later = NOW + dt.timedelta(seconds=12)
    assert {o.call_id for o in cdr.open_calls()} == {never.call_id, ringing.call_id,
                                                        talking.call_id}

    assert cdrs.close_lost(never.call_id, later) == "NOT PLACED"
    entry = CampaignContact.get_by_id(never.entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)  # dialed again, not skipped

    assert cdrs.close_lost(ringing.call_id, later) == "FAILED"
    assert "lost" in Call.get_by_id(ringing.call_id).cause_txt

    assert cdrs.close_lost(talking.call_id, later) == "ANSWERED"
    call = Call.get_by_id(talking.call_id)
    assert call.billsec == 10 and CampaignContact.get_by_id(talking.entry_id).state == "done"
    assert cdrs.close_lost(talking.call_id, later) is None  # closed once
    assert cdr.open_calls() == []



def test_crash_between_originate_and_placed_at_counts_the_attempt(database, claims):
    """The originate reached Asterisk (its channel shows in Asterisk's channel log) but the
    app died before writing placed_at: the attempt is counted, never dialed again."""
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103", "+12025550104"])
    busy, held, unknown, never = claims.claim_due(campaign.id, 4, NOW)
    cdrs = Cdrs(claims.admission)
    later = NOW + dt.timedelta(seconds=12)
    assert cdrs.close_lost(busy.call_id, later, ChannelTrace(ended=True, cause=17)) == "BUSY"
    assert cdrs.close_lost(held.call_id, later,
                           ChannelTrace(answered=True, ended=True, cause=16)) == "FAILED"
    assert "answered while voxcast" in Call.get_by_id(held.call_id).cause_txt
    # The record could not be read: assume it may have been dialed.
    assert cdrs.close_lost(unknown.call_id, later, None, traced=False) == "FAILED"
    assert cdrs.close_lost(never.call_id, later, None) == "NOT PLACED"
    for claim in (busy, held, unknown):
        assert CampaignContact.get_by_id(claim.entry_id).attempts == 1
    assert CampaignContact.get_by_id(never.entry_id).attempts == 0


def test_channel_log_reads_only_the_tail_since_the_oldest_open_cdr(tmp_path, monkeypatch):
    path = tmp_path / channel_log.FILE_NAME
    start = NOW.replace(tzinfo=dt.timezone.utc).timestamp()
    lines = [f'"CHAN_START","{start - 3600 + i * 0.5:.6f}","vx-old{i}",""' for i in range(5000)]
    lines += [f'"CHAN_START","{start + 1}.5","vx-a",""',
              f'"CHAN_START","{start + 1}.6","vx-b",""',
              f'"ANSWER","{start + 3}.1","vx-b",""',
              f'"HANGUP","{start + 9}.2","vx-a","{{""hangupcause"":19,""hangupsource"":"""",'
              f'""dialstatus"":""""}}"',
              f'"HANGUP","{start + 9}.2","vx-b","{{""hangupcause"":16}}"']
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(channel_log, "_BLOCK", 256)  # many blocks: lines split across them
    read = []
    real_time_of = channel_log._time_of
    monkeypatch.setattr(channel_log, "_time_of", lambda raw: read.append(raw) or real_time_of(raw))
    found = channel_log.traces(path, ["vx-a", "vx-b", "vx-never", "vx-old1"], NOW)
    assert found == {"vx-a": channel_log.ChannelTrace(False, True, 19),
                     "vx-b": channel_log.ChannelTrace(True, True, 16)}
    assert len(read) < 20  # stopped at the window's start, not at the file's
    assert channel_log.traces(tmp_path / "missing.csv", ["vx-a"], NOW) == {}
