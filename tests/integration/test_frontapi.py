"""The API a billing front end needs, against the live web server (`voxcast web`): CDRs with
the portal's filters, paged and as CSV, a call's recording, the ledger and the balance, rate
plans and rates, quotas with usage, features, timeslots, a campaign's settings and message
audio; each with a tenant key (its own rows only) and the provider's key (any tenant)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
import urllib.error
import urllib.request
import wave
from decimal import Decimal

import pytest
from voxcast.accounts.passwords import hash_password

from models import Call, Campaign, Contact, ContactGroup, RatePlan, Tenant, User
from models.entities import Rate, utcnow
from voxcast.accounts import api_keys
from voxcast.billing import ledger

FEATURES = "voice_message sms recordings reports api"


class Api:
    def __init__(self, web, key: str):
        self.base, self.key = f"http://127.0.0.1:{web.settings.web_port}/api/v1", key

    def raw(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, method=method, data=data, headers={
            "Authorization": f"Bearer {self.key}", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=20) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def __call__(self, method: str, path: str, body=None):
        status, _, raw = self.raw(method, path, json.dumps(body).encode()
                                  if body is not None else None,
                                  {"Content-Type": "application/json"})
        return status, json.loads(raw) if raw else None


def _tenant(**fields) -> Tenant:
    slug = f"front-{secrets.token_hex(3)}"
    return Tenant.create(name=slug, slug=slug, features=FEATURES, timezone="UTC", **fields)


def _key(web, tenant: Tenant | None) -> Api:
    if tenant is None:
        user = User.get(User.username == "admin")
    else:
        user = User.create(username=f"{tenant.slug}-admin", tenant=tenant, role="tenant",
                           password_hash=hash_password(secrets.token_hex(8)))
    _, secret = api_keys.create(tenant_id=tenant.id if tenant else None, user=user, name="front")
    return Api(web, secret)


@pytest.fixture
def two(web):
    a, b = _tenant(), _tenant()
    return a, _key(web, a), b, _key(web, b), _key(web, None)


def _call(tenant, number, direction="outbound", minutes_ago=10, **fields) -> Call:
    start = utcnow() - dt.timedelta(minutes=minutes_ago)
    return Call.create(tenant=tenant, number=number, direction=direction,
                       channel_id=f"ch-{secrets.token_hex(6)}", started_at=start,
                       answered_at=start + dt.timedelta(seconds=2),
                       ended_at=start + dt.timedelta(seconds=32), duration=32, billsec=30,
                       disposition="ANSWERED", hangup_cause=16, cause_txt="Normal Clearing",
                       cost=Decimal("0.3000"), **fields)


def test_given_cdrs_of_two_tenants_when_listed_filtered_paged_and_as_csv_then_only_the_own_matching_rows(
        two):
    a, api_a, b, api_b, provider = two
    out1 = _call(a, "+15551110001", minutes_ago=30)
    out2 = _call(a, "+15551110002", minutes_ago=20)
    inbound = _call(a, "+15552220001", direction="inbound", minutes_ago=10, did="+15553330001")
    theirs = _call(b, "+15551110009")
    status, page = api_a("GET", "/cdrs?per_page=2")
    assert status == 200 and page["total"] == 3 and [c["id"] for c in page["items"]] == [
        inbound.id, out2.id]
    _, page2 = api_a("GET", "/cdrs?per_page=2&page=2")
    assert [c["id"] for c in page2["items"]] == [out1.id]
    _, outbound = api_a("GET", "/cdrs?direction=outbound&number=5551110")
    assert {c["id"] for c in outbound["items"]} == {out1.id, out2.id}
    assert api_a("GET", "/cdrs?direction=sideways")[0] == 400
    assert api_a("GET", f"/cdrs/{theirs.id}")[0] == 404  # another tenant's call
    # the provider's key: a tenant's CDRs by tenant_id
    _, mine = provider("GET", f"/cdrs?tenant_id={b.id}")
    assert [c["id"] for c in mine["items"]] == [theirs.id]
    # CSV: ?format=csv and Accept: text/csv, the portal's export, every matching row
    for path, headers in ((f"/cdrs?format=csv&direction=outbound", {}),
                          ("/cdrs?direction=outbound", {"Accept": "text/csv"})):
        status, head, raw = api_a.raw("GET", path, headers=headers)
        assert status == 200 and head["Content-Type"].startswith("text/csv"), (status, raw)
        assert "attachment" in head["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][:2] == ["id", "started_at (UTC)"]
        assert [int(r[0]) for r in rows[1:]] == [out2.id, out1.id]
        assert rows[1][rows[0].index("number")] == "+15551110002"
        assert rows[1][rows[0].index("cost")] == "0.3000"
    assert api_a.raw("GET", "/cdrs?format=xml")[0] == 400
    _, head, raw = api_b.raw("GET", "/cdrs?format=csv")
    assert [r[0] for r in csv.reader(io.StringIO(raw.decode("utf-8-sig")))][1:] == [str(theirs.id)]


def _wav(path, seconds: float = 0.5) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))
    return path.read_bytes()


def test_given_a_recorded_call_when_its_recording_is_downloaded_then_the_wav_else_404(
        two, settings):
    a, api_a, b, api_b, provider = two
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    name = f"front-{secrets.token_hex(4)}.wav"
    data = _wav(settings.recordings_dir / name)
    recorded = _call(a, "+15551110003", recording=name)
    plain = _call(a, "+15551110004")
    gone = _call(a, "+15551110005", recording="no-such-file.wav")
    assert api_a("GET", f"/cdrs/{recorded.id}")[1]["recording"] is True
    for api in (api_a, provider):
        status, head, raw = api.raw("GET", f"/cdrs/{recorded.id}/recording")
        assert status == 200 and head["Content-Type"] == "audio/wav" and raw == data
    for call_id in (plain.id, gone.id):
        status, _, raw = api_a.raw("GET", f"/cdrs/{call_id}/recording")
        assert status == 404 and json.loads(raw)["error"]["code"] == "no-recording"
    assert api_b.raw("GET", f"/cdrs/{recorded.id}/recording")[0] == 404


def test_given_payments_and_charges_when_the_ledger_is_read_then_filtered_by_kind_and_period(two):
    a, api_a, b, api_b, provider = two
    ledger.credit(a.id, "20.00", reference="invoice 1001")
    ledger.charge(a.id, "1.5000", kind="charge", reference="setup")
    ledger.credit(b.id, "5.00", reference="theirs")
    status, page = api_a("GET", "/ledger")
    assert status == 200 and [e["kind"] for e in page["items"]] == ["charge", "payment"]
    assert page["items"][0]["amount"] == "-1.5000" and page["items"][0]["balance_after"] == "18.5000"
    _, payments = api_a("GET", "/ledger?kind=payment")
    assert [e["reference"] for e in payments["items"]] == ["invoice 1001"]
    _, credits = api_a("GET", "/ledger?payments=true")
    assert [e["kind"] for e in credits["items"]] == ["payment"]
    assert api_a("GET", "/ledger?kind=bogus")[0] == 400
    today = utcnow().date()
    _, now = api_a("GET", f"/ledger?start={today}&end={today}")
    assert now["total"] == 2
    _, later = api_a("GET", f"/ledger?start={today + dt.timedelta(days=1)}"
                            f"&end={today + dt.timedelta(days=2)}")
    assert later["total"] == 0
    _, theirs = provider("GET", f"/ledger?tenant_id={b.id}")
    assert [e["reference"] for e in theirs["items"]] == ["theirs"]
    status, bal = api_a("GET", "/balance")
    assert status == 200 and bal["balance"] == "18.5000" and bal["tenant_id"] == a.id
    assert provider("GET", "/balance")[0] == 400  # the provider names a tenant
    assert provider("GET", f"/balance?tenant_id={b.id}")[1]["balance"] == "5.0000"


def test_given_rate_plans_when_read_then_the_provider_sees_all_and_a_tenant_only_its_own(two):
    a, api_a, b, api_b, provider = two
    own = RatePlan.create(name=f"front-own-{a.id}", sms_price=Decimal("0.05"))
    other = RatePlan.create(name=f"front-other-{a.id}")
    Rate.create(plan=own, prefix="1555", description="US test", per_minute=Decimal("0.012"))
    Rate.create(plan=own, prefix="49", description="Germany", per_minute=Decimal("0.02"))
    Tenant.update(rate_plan=own).where(Tenant.id == a.id).execute()
    status, page = api_a("GET", "/plans")
    assert status == 200 and [p["id"] for p in page["items"]] == [own.id]
    assert page["items"][0]["sms_price"] == "0.050000"
    assert api_a("GET", f"/plans/{own.id}")[0] == 200
    assert api_a("GET", f"/plans/{other.id}")[0] == 404
    assert api_a("GET", f"/plans/{other.id}/rates")[0] == 404
    _, rates = api_a("GET", f"/plans/{own.id}/rates?q=1555")
    assert [(r["prefix"], r["per_minute"]) for r in rates["items"]] == [("1555", "0.012000")]
    _, by_name = api_a("GET", f"/plans/{own.id}/rates?q=Germ")
    assert [r["prefix"] for r in by_name["items"]] == ["49"]
    _, every = provider("GET", "/plans?per_page=200")
    assert {own.id, other.id} <= {p["id"] for p in every["items"]}
    assert provider("GET", f"/plans/{other.id}")[0] == 200
    _, of_a = provider("GET", f"/plans?tenant_id={a.id}")
    assert [p["id"] for p in of_a["items"]] == [own.id]


def test_given_usage_when_quotas_and_features_are_read_and_set_then_limits_usage_and_features_follow(
        two):
    a, api_a, b, api_b, provider = two
    group = ContactGroup.create(tenant=a, name="g")
    for n in range(3):
        Contact.create(tenant=a, group=group, phone=f"+1555444000{n}")
    status, q = api_a("GET", "/quotas")
    assert status == 200
    contacts = next(i for i in q["items"] if i["kind"] == "contacts")
    assert contacts["used"] == 3 and contacts["field"] == "max_contacts"
    assert api_a("PATCH", f"/tenants/{a.id}/quotas", {"max_contacts": 5})[0] == 403
    status, q = provider("PATCH", f"/tenants/{a.id}/quotas", {"max_contacts": 5,
                                                               "channel_limit": 3})
    assert status == 200, q
    got = {i["kind"]: i for i in api_a("GET", "/quotas")[1]["items"]}
    assert got["contacts"]["limit"] == 5 and got["contacts"]["percent"] == 60
    assert got["channels"]["limit"] == 3
    assert Tenant.get_by_id(a.id).max_users == b.max_users  # the others stay
    assert provider("PATCH", f"/tenants/{a.id}/quotas", {"channel_limit": 0})[0] == 422
    assert provider("PATCH", f"/tenants/{a.id}/quotas", {})[0] == 422
    status, f = api_a("GET", "/features")
    assert status == 200 and set(f["features"]) == set(FEATURES.split())
    status, f = provider("PATCH", f"/tenants/{a.id}/features",
                         {"features": ["api", "sms", "reports"]})
    assert status == 200 and f["features"] == ["sms", "reports", "api"]
    assert {i["name"]: i["enabled"] for i in api_a("GET", "/features")[1]["items"]}[
        "voice_message"] is False
    assert provider("PATCH", f"/tenants/{a.id}/features", {"features": ["teleport"]})[0] == 422
    assert api_b("PATCH", f"/tenants/{a.id}/features", {"features": []})[0] == 403
    assert provider("GET", f"/quotas?tenant_id={b.id}")[1]["tenant_id"] == b.id


def test_given_timeslots_set_by_the_provider_when_the_tenant_reads_them_then_its_own(two):
    a, api_a, b, api_b, provider = two
    status, slot = provider("POST", f"/tenants/{a.id}/timeslots",
                            {"name": "office", "weekdays": "01234", "start": "09:00",
                             "end": "17:00"})
    assert status == 201 and slot["weekdays"] == "01234"
    assert provider("POST", f"/tenants/{a.id}/timeslots",
                    {"weekdays": "0", "start": "18:00", "end": "09:00"})[0] == 422
    assert [s["id"] for s in api_a("GET", "/timeslots")[1]["items"]] == [slot["id"]]
    assert api_b("GET", "/timeslots")[1]["items"] == []
    assert api_a("POST", f"/tenants/{a.id}/timeslots",
                 {"weekdays": "0", "start": "09:00", "end": "10:00"})[0] == 403
    assert provider("DELETE", f"/tenants/{b.id}/timeslots/{slot['id']}")[0] == 404
    assert provider("DELETE", f"/tenants/{a.id}/timeslots/{slot['id']}")[0] == 204
    assert api_a("GET", "/timeslots")[1]["items"] == []


def test_given_a_voice_campaign_when_its_portal_fields_and_audio_are_set_through_the_api_then_stored(
        two, settings, tmp_path):
    a, api_a, b, api_b, provider = two
    group = ContactGroup.create(tenant=a, name="g")
    status, c = api_a("POST", "/campaigns", {
        "name": "front", "group_id": group.id, "type": "voice_message", "amd_enabled": True,
        "amd_action": "leave_message", "record": True, "retry_busy": 3, "retry_machine": 1,
        "retry_interval": 600, "windows": "Mon-Fri 09:00-17:00", "dial_timeout": 40})
    assert status == 201, c
    assert (c["amd_enabled"], c["amd_action"], c["record"], c["retry_busy"],
            c["retry_machine"], c["retry_interval"], c["dial_timeout"]) == (
        True, "leave_message", True, 3, 1, 600, 40)
    assert c["windows"].startswith("Mon-Fri 09:00-17:00")
    status, head, raw = api_a.raw("PUT", f"/campaigns/{c['id']}/message",
                                  _wav(tmp_path / "m.wav", 1.0), {"Content-Type": "audio/wav"})
    assert status == 200, raw
    stored = Campaign.get_by_id(c["id"])
    assert stored.message_file and (settings.sounds_dir / f"{stored.message_file}.wav").is_file()
    assert json.loads(raw)["message_file"] == stored.message_file
    assert api_b.raw("PUT", f"/campaigns/{c['id']}/message", b"x",
                     {"Content-Type": "audio/wav"})[0] == 404
    assert api_a.raw("PUT", f"/campaigns/{c['id']}/message", b"not audio",
                     {"Content-Type": "audio/wav"})[0] == 422
    _, sms = api_a("POST", "/campaigns", {"name": "s", "group_id": group.id, "type": "sms",
                                          "sms_text": "hi"})
    assert api_a.raw("PUT", f"/campaigns/{sms['id']}/message", b"x",
                     {"Content-Type": "audio/wav"})[0] == 422
