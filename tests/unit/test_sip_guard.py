"""Failed SIP authentication throttling (voxcast.runtime.sip_guard): the security log lines Asterisk
writes, the counting window and ban, the database side, the ACL text and the admin page."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from models.entities import SipBan, TenantLog
from voxcast.runtime import sip_guard
from voxcast.runtime.sip_guard import Count, Failure, Policy

from .conftest import ADMIN_PASSWORD

T0 = dt.datetime(2026, 12, 1, 12, 0, 0)
POLICY = Policy(max_failures=3, window=dt.timedelta(minutes=10), ban=dt.timedelta(hours=1))

# As Asterisk 22's res_security_log writes them (captured from the test instance).
FAILED = ('[2026-12-01 22:54:57.367] SECURITY[16686] res_security_log.c: SecurityEvent='
          '"ChallengeResponseFailed",EventTV="2026-12-01T22:54:57.367+0000",Severity="Error",'
          'Service="PJSIP",EventVersion="1",AccountID="7999",SessionID="1-16693@127.0.0.2",'
          'LocalAddress="IPV4/UDP/127.0.0.1/15360",RemoteAddress="IPV4/UDP/127.0.0.2/15501",'
          'Challenge="1796165697/b76c",Response="b711e3",ExpectedResponse=""')
CHALLENGE = ('[2026-12-01 22:54:57.365] SECURITY[16686] res_security_log.c: SecurityEvent='
             '"ChallengeSent",EventTV="2026-12-01T22:54:57.365+0000",Severity="Informational",'
             'Service="PJSIP",EventVersion="1",AccountID="7999",SessionID="1-16693@127.0.0.2",'
             'LocalAddress="IPV4/UDP/127.0.0.1/15360",RemoteAddress="IPV4/UDP/127.0.0.2/15501",'
             'Challenge=""')
UNKNOWN = ('[2026-12-01 22:54:57.602] SECURITY[16686] res_security_log.c: SecurityEvent='
           '"InvalidAccountID",EventTV="2026-12-01T22:54:57.602+0000",Severity="Error",'
           'Service="PJSIP",EventVersion="1",AccountID="7998",SessionID="1-16695@127.0.0.2",'
           'LocalAddress="IPV4/UDP/127.0.0.1/15360",RemoteAddress="IPV4/UDP/127.0.0.2/15501"')


# -- parsing ----------------------------------------------------------------------------

def test_failed_challenge_line_gives_address_account_and_time():
    assert sip_guard.parse_failure(FAILED) == Failure(
        "127.0.0.2", "7999", dt.datetime(2026, 12, 1, 22, 54, 57, 367000))


def test_other_events_and_lines_are_not_failures():
    assert sip_guard.parse_failure(CHALLENGE) is None
    assert sip_guard.parse_failure(UNKNOWN) is None  # no password was guessed
    assert sip_guard.parse_failure("[2026-12-01] Asterisk 22 built by nobody") is None
    assert sip_guard.parse_failure(FAILED.replace("127.0.0.2/15501", "evil\\nhost/1")) is None


def test_ipv6_remote_address_is_parsed():
    line = FAILED.replace('"IPV4/UDP/127.0.0.2/15501"', '"IPV6/UDP/2001:db8::7/5060"')
    assert sip_guard.parse_failure(line).address == "2001:db8::7"


def test_security_log_reads_appended_whole_lines_and_follows_rotation(tmp_path):
    path = tmp_path / "security.log"
    path.write_text("old line\n")
    tail = sip_guard.SecurityLog(path)
    assert tail.read_new() == []  # starts at the end
    with open(path, "a") as fh:
        fh.write("one\ntw")
    assert tail.read_new() == ["one"]
    with open(path, "a") as fh:
        fh.write("o\n")
    assert tail.read_new() == ["two"]
    path.unlink()
    assert tail.read_new() == []
    path.write_text("after rotation\n")
    assert tail.read_new() == ["after rotation"]


# -- counting (pure) ------------------------------------------------------------------------

def failures(count: Count, times) -> Count:
    for at in times:
        count = sip_guard.count_failure(count, at, POLICY)
    return count


def test_max_failures_within_the_window_ban_for_the_ban_time():
    count = failures(Count(), [T0, T0 + dt.timedelta(minutes=1)])
    assert count.failures == 2 and not count.banned(T0 + dt.timedelta(minutes=1))
    count = failures(count, [T0 + dt.timedelta(minutes=2)])
    assert count.banned(T0 + dt.timedelta(minutes=2))
    assert count.banned_until == T0 + dt.timedelta(minutes=2, hours=1)
    assert not count.banned(count.banned_until)


def test_failures_spread_beyond_the_window_start_over():
    count = failures(Count(), [T0, T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=11)])
    assert count.failures == 1 and count.banned_until is None
    assert count.first_failure_at == T0 + dt.timedelta(minutes=11)


def test_failures_while_banned_do_not_extend_the_ban():
    banned = failures(Count(), [T0, T0, T0])
    later = failures(banned, [T0 + dt.timedelta(minutes=30)])
    assert later.banned_until == banned.banned_until and later.failures == 4


def test_policy_from_the_environment(monkeypatch):
    monkeypatch.setenv("VOXCAST_SIP_BAN_FAILURES", "7")
    monkeypatch.setenv("VOXCAST_SIP_BAN_WINDOW", "60")
    monkeypatch.setenv("VOXCAST_SIP_BAN_SECONDS", "120")
    assert Policy.from_env() == Policy(7, dt.timedelta(seconds=60), dt.timedelta(seconds=120))


# -- the database -----------------------------------------------------------------------------

def test_record_bans_after_the_limit_and_expiry_lifts_it(db, settings):
    fail = [Failure("192.0.2.9", "7101", T0 + dt.timedelta(seconds=i)) for i in range(3)]
    assert sip_guard.record(fail[:2], settings, POLICY, now=T0) is False
    assert SipBan.get(SipBan.address == "192.0.2.9").failures == 2
    assert sip_guard.record(fail[2:], settings, POLICY, now=T0) is True
    row = SipBan.get(SipBan.address == "192.0.2.9")
    assert row.banned_until == T0 + dt.timedelta(seconds=2, hours=1) and row.last_account == "7101"
    assert sip_guard.banned(T0) == ["192.0.2.9"]

    after = T0 + dt.timedelta(hours=2)
    assert sip_guard.record([], settings, POLICY, now=after) is True  # the ban ended
    assert sip_guard.banned(after) == []
    # and the quiet address is forgotten on the next pass
    assert sip_guard.record([], settings, POLICY, now=after) is False
    assert not SipBan.select().exists()


def test_trunk_addresses_are_never_banned(db, settings):
    settings = dataclasses.replace(settings, trunk_host="198.51.100.1",
                                   trunk_allow=("203.0.113.0/28",))
    fail = [Failure(a, "x", T0) for a in ("198.51.100.1", "203.0.113.5") for _ in range(5)]
    assert sip_guard.record(fail, settings, POLICY, now=T0) is False
    assert not SipBan.select().exists()


def test_acl_text_denies_each_banned_address_and_is_empty_without_bans():
    text = sip_guard.render_text(["127.0.0.2", "2001:db8::7", "not-an-address\n[x]"])
    assert "[voxcast-bans]\ntype = acl\ndeny = 127.0.0.2/32\ndeny = 2001:db8::7/128\n" in text
    assert "not-an-address" not in text and "[x]" not in text
    assert "type = acl" not in sip_guard.render_text([])


def test_write_renders_the_bans_from_the_database(db, settings):
    SipBan.create(address="192.0.2.10", failures=5, banned_until=dt.datetime(2999, 1, 1))
    SipBan.create(address="192.0.2.11", failures=2)  # counted, not banned
    assert sip_guard.write(settings) is True
    text = (settings.host_path(settings.ast_etc) / sip_guard.FILENAME).read_text()
    assert "deny = 192.0.2.10/32" in text and "192.0.2.11" not in text
    assert sip_guard.write(settings) is False  # unchanged: no reload needed


# -- the admin page ----------------------------------------------------------------------------

@pytest.fixture
def bans(app):
    banned = SipBan.create(address="192.0.2.20", failures=5, last_account="7101",
                           banned_until=dt.datetime(2999, 1, 1), banned_at=T0)
    counted = SipBan.create(address="192.0.2.21", failures=2, last_account="7102")
    return banned, counted


def test_admin_sees_bans_and_failure_counts(auth, bans):
    auth.login("admin", ADMIN_PASSWORD)
    page = auth.client.get("/admin/sip-security").get_data(as_text=True)
    assert "192.0.2.20" in page and "192.0.2.21" in page and "7101" in page
    assert "2999-01-01" in page and "not banned" in page


def test_admin_unbans_an_address_with_csrf_and_the_acl_follows(auth, bans, settings):
    banned, counted = bans
    auth.login("admin", ADMIN_PASSWORD)
    assert auth.client.post(f"/admin/sip-security/{banned.id}/unban").status_code == 400
    assert SipBan.get_or_none(SipBan.id == banned.id) is not None
    resp = auth.post(f"/admin/sip-security/{banned.id}/unban", follow_redirects=True)
    assert resp.status_code == 200 and "192.0.2.20 unbanned" in resp.get_data(as_text=True)
    assert SipBan.get_or_none(SipBan.id == banned.id) is None
    assert SipBan.get_or_none(SipBan.id == counted.id) is not None
    acl = (settings.host_path(settings.ast_etc) / sip_guard.FILENAME).read_text()
    assert "192.0.2.20" not in acl
    assert TenantLog.get(TenantLog.action == "sip.unban").detail == "192.0.2.20"
    assert auth.post("/admin/sip-security/999999/unban").status_code == 404


def test_tenant_cannot_see_or_lift_bans(auth, bans):
    banned, _ = bans
    auth.login()  # the master tenant's administrator, not the provider
    assert auth.client.get("/admin/sip-security").status_code == 403
    assert auth.post(f"/admin/sip-security/{banned.id}/unban").status_code == 403
    assert SipBan.get_or_none(SipBan.id == banned.id) is not None
