"""The WHMCS server module (whmcs/modules/servers/voxcast) against the live web server: Debian's
php-cli and phpunit run tests/whmcs/ group by group (one WHMCS action each), with a provider API
key and packages made here, and voxcast's state is checked from here between the groups.

The module is PHP and WHMCS is not installed: tests/whmcs/bootstrap.php stands in for what
WHMCS provides (logModuleCall, localAPI, Capsule, the UsageBilling classes) over a JSON file
that plays WHMCS's database; nothing of voxcast's side is faked."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from decimal import Decimal
from pathlib import Path

import pytest

from models import Call, Tenant, User
from models.entities import IdempotencyKey, LedgerEntry, Message, Package, Subscription, utcnow
from voxcast.accounts import api_keys
from voxcast.packages import catalogue
from voxcast.packages.catalogue import PackageInput

from .conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
PHPUNIT_DIR = ROOT / "tests" / "whmcs"
SERVICE, TOPUP_SERVICE, CLIENT, SERVER = 1001, 1002, 7, 1
PRODUCT, PRODUCT2, TOPUP_PRODUCT = 10, 11, 12
CLIENT_EMAIL = "ops@acme-dialers.example"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _php_missing() -> str:
    if not shutil.which("php") or not shutil.which("phpunit"):
        return "php-cli and phpunit are not installed (`make test-deps` installs them)"
    probe = subprocess.run(["php", "-r", "echo function_exists('curl_init') ? 'yes' : 'no';"],
                           capture_output=True, text=True)
    if probe.stdout.strip() != "yes":
        return "php-curl is not installed (`make test-deps` installs it)"
    return ""


pytestmark = pytest.mark.skipif(bool(_php_missing()), reason=_php_missing() or "php present")


class Whmcs:
    """WHMCS's side: its database (a JSON file the PHP bootstrap reads and writes back) and
    phpunit runs of one test group each."""

    def __init__(self, path: Path, env: dict):
        self.path = path
        self.env = env

    def read(self) -> dict:
        return json.loads(self.path.read_text())

    def write(self, data: dict) -> None:
        self.path.write_text(json.dumps(data, indent=2))

    def service(self, service_id: int) -> dict:
        return self.read()["services"][str(service_id)]

    def update_service(self, service_id: int, **values) -> None:
        data = self.read()
        data["services"][str(service_id)].update(values)
        self.write(data)

    def run(self, group: str) -> str:
        proc = subprocess.run(
            ["phpunit", "-c", str(PHPUNIT_DIR / "phpunit.xml"), "--group", group],
            cwd=PHPUNIT_DIR, env=self.env, capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        print(out)  # shown when the test fails
        assert proc.returncode == 0, f"phpunit --group {group} failed:\n{out}"
        assert re.search(r"^OK \(\d+ tests?, \d+ assertions?\)", out, re.M), out
        return out


def _package(**values) -> Package:
    return catalogue.create_package(PackageInput(**values))


@pytest.fixture(scope="module")
def whmcs(web, db, tmp_path_factory, smtp_peer):
    """A provider API key in the server's Access Hash, three packages as three products, a
    client with a voxcast service and a top-up service, as WHMCS would hold them."""
    _, secret = api_keys.create(tenant_id=None, user=User.get(User.username == "admin"),
                                name="WHMCS")
    starter = _package(name="WHMCS Starter", billing_model="subscription", period="monthly",
                       price="29.00", setup_fee="10.00", channel_limit=4, max_users=5,
                       max_agents=3, max_campaigns=10, max_contacts=5000, disk_quota_mb=512)
    business = _package(name="WHMCS Business", billing_model="subscription", period="monthly",
                        price="79.00", channel_limit=20, max_users=25, max_agents=15,
                        max_campaigns=50, max_contacts=100000, disk_quota_mb=4096)
    credit = _package(name="WHMCS Credit 50", billing_model="topup", price="50.00",
                      topup_amount="50.00")
    port = web.settings.web_port
    path = tmp_path_factory.mktemp("whmcs") / "whmcs-db.json"
    product = {"configoption2": "credentials", "configoption3": "en", "configoption4": ""}
    whmcs_db = {
        "servers": {str(SERVER): {"hostname": "127.0.0.1", "ipaddress": "127.0.0.1",
                                  "port": str(port), "secure": False, "username": "",
                                  "password": "", "accesshash": secret}},
        "products": {str(PRODUCT): {"name": "Dialer Starter", "configoption1": str(starter.id),
                                    **product},
                     str(PRODUCT2): {"name": "Dialer Business",
                                     "configoption1": str(business.id), **product},
                     str(TOPUP_PRODUCT): {"name": "Call credit 50",
                                          "configoption1": str(credit.id), **product}},
        "clients": {str(CLIENT): {"firstname": "Ada", "lastname": "Lovelace",
                                  "companyname": "Acme Dialers", "email": CLIENT_EMAIL,
                                  "country": "DE", "countrycode": "DE", "language": "english",
                                  "phonenumber": "+49.3012345"}},
        "services": {
            str(SERVICE): {"id": SERVICE, "userid": CLIENT, "packageid": PRODUCT,
                           "server": SERVER, "domain": "", "username": "acmedialers",
                           "password": "Initial-Pass-2026", "domainstatus": "Pending",
                           "nextduedate": "2027-01-02", "customfields": {}},
            str(TOPUP_SERVICE): {"id": TOPUP_SERVICE, "userid": CLIENT,
                                 "packageid": TOPUP_PRODUCT, "server": SERVER, "domain": "",
                                 "username": "", "password": "", "domainstatus": "Pending",
                                 "nextduedate": "0000-00-00", "customfields": {}}},
        "modulelog": [], "results": {},
    }
    path.write_text(json.dumps(whmcs_db))
    env = {**os.environ, "VOXCAST_WHMCS_DB": str(path), "VOXCAST_API_KEY": secret,
           "VOXCAST_SERVICE": str(SERVICE), "VOXCAST_TOPUP_SERVICE": str(TOPUP_SERVICE),
           "VOXCAST_PACKAGE": str(starter.id), "VOXCAST_PACKAGE2": str(business.id),
           "VOXCAST_TOPUP": str(credit.id)}
    side = Whmcs(path, env)
    side.packages = {"starter": starter, "business": business, "credit": credit}
    side.port = port
    side.smtp = smtp_peer
    return side


def _tenant() -> Tenant | None:
    sub = Subscription.get_or_none(Subscription.external_id == f"whmcs-{SERVICE}")
    return Tenant.get_by_id(sub.tenant_id) if sub else None


def _limits(tenant: Tenant) -> dict:
    return {k: getattr(tenant, k) for k in ("channel_limit", "max_users", "max_agents",
                                             "max_campaigns", "max_contacts", "disk_quota_mb")}


def _package_limits(package: Package) -> dict:
    return {k: getattr(package, k) for k in ("channel_limit", "max_users", "max_agents",
                                              "max_campaigns", "max_contacts", "disk_quota_mb")}


class Portal:
    """A browser as the web server sees it: cookies, CSRF, any Host header (a tenant's
    sub-domain reaches 127.0.0.1 without DNS)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, host: str | None = None, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": host or f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, dict(resp.getheaders()), text

    def login(self, username: str, password: str) -> bool:
        _, _, page = self.request("GET", "/login")
        token = CSRF.search(page).group(1)
        status, headers, _ = self.request("POST", "/login", form={
            "username": username, "password": password, "csrf_token": token})
        return status in (302, 303) and "/login" not in headers.get("Location", "/login")

    def home(self, host: str | None = None) -> tuple[int, str]:
        """The portal home, following its redirects (a tenant admin lands on the dashboard)."""
        path = "/"
        for _ in range(5):
            status, headers, page = self.request("GET", path, host=host)
            if status not in (301, 302, 303) or "/login" in headers.get("Location", ""):
                return status, page
            path = urllib.parse.urlsplit(headers["Location"]).path or "/"
        return status, page


def test_given_the_servers_api_key_when_whmcs_tests_the_connection_and_loads_packages_then_they_work(
        whmcs):
    whmcs.run("connection")
    log = whmcs.read()["modulelog"]
    assert {e["action"] for e in log} >= {"TestConnection", "LoaderPackages"}
    assert not any(whmcs.env["VOXCAST_API_KEY"] in json.dumps(e) for e in log)


def test_given_a_paid_order_when_whmcs_creates_the_account_then_the_tenant_has_the_packages_limits_and_the_login_is_mailed(
        whmcs):
    mails = len(whmcs.smtp.messages)
    whmcs.run("create")
    tenant = _tenant()
    assert tenant is not None, "no tenant with external id whmcs-1001"
    assert Subscription.select().where(Subscription.external_id == f"whmcs-{SERVICE}").count() == 1
    sub = Subscription.get(Subscription.tenant == tenant.id)
    starter = whmcs.packages["starter"]
    assert sub.package_id == starter.id and sub.status == "active"
    assert _limits(tenant) == _package_limits(starter)
    assert tenant.name == "Acme Dialers" and tenant.country == "DE" and tenant.status == "active"
    admin = User.get(User.tenant == tenant.id)
    assert admin.username == whmcs.service(SERVICE)["username"] == "acmedialers"
    mail = wait_for(lambda: next((m for m in whmcs.smtp.messages[mails:]
                                  if m["To"] == CLIENT_EMAIL), None), 10,
                    message="the login e-mailed to the client")
    assert "acmedialers" in whmcs.smtp.body(mail)
    assert Portal(whmcs.port).login("acmedialers", "Initial-Pass-2026")


def test_given_an_overdue_service_when_whmcs_suspends_and_unsuspends_it_then_voxcast_follows(whmcs):
    whmcs.run("suspend")
    tenant = _tenant()
    assert tenant.status == "suspended"
    sub = Subscription.get(Subscription.tenant == tenant.id)
    assert sub.status == "suspended" and sub.suspended_reason == "provider"
    assert not Portal(whmcs.port).login("acmedialers", "Initial-Pass-2026")

    whmcs.run("unsuspend")
    tenant = _tenant()
    assert tenant.status == "active"
    assert Subscription.get(Subscription.tenant == tenant.id).status == "active"
    assert Portal(whmcs.port).login("acmedialers", "Initial-Pass-2026")

    whmcs.run("resuspend")  # suspended a second time: not mistaken for a retry of the first
    assert _tenant().status == "suspended"
    whmcs.run("unsuspend")
    assert _tenant().status == "active"


def test_given_an_upgrade_in_whmcs_when_the_package_changes_then_the_tenant_gets_the_new_limits(whmcs):
    whmcs.update_service(SERVICE, packageid=PRODUCT2)  # WHMCS's upgrade order, paid
    whmcs.run("changepackage")
    tenant = _tenant()
    business = whmcs.packages["business"]
    assert Subscription.get(Subscription.tenant == tenant.id).package_id == business.id
    assert _limits(tenant) == _package_limits(business)


def test_given_more_users_than_a_smaller_package_allows_when_whmcs_downgrades_then_it_is_refused_and_nothing_changes(
        whmcs):
    tenant = _tenant()
    starter = whmcs.packages["starter"]
    extra = [User.create(tenant=tenant.id, username=f"whmcs-agent-{i}", role="user",
                         password_hash="x") for i in range(starter.max_users)]
    whmcs.update_service(SERVICE, packageid=PRODUCT)  # the client orders the smaller product
    business = whmcs.packages["business"]
    try:
        whmcs.run("downgrade")
        assert Subscription.get(Subscription.tenant == tenant.id).package_id == business.id
        assert _limits(Tenant.get_by_id(tenant.id)) == _package_limits(business)
    finally:
        User.delete().where(User.id.in_([u.id for u in extra])).execute()

    whmcs.run("downgrade-ok")  # the refusals stored under its key do not stand in the way
    assert Subscription.get(Subscription.tenant == tenant.id).package_id == starter.id
    assert _limits(Tenant.get_by_id(tenant.id)) == _package_limits(starter)
    assert User.select().where(User.tenant == tenant.id).count() == 1  # the admin: data kept

    whmcs.update_service(SERVICE, packageid=PRODUCT2)  # and up again, under the first key
    whmcs.run("changepackage")
    assert Subscription.get(Subscription.tenant == tenant.id).package_id == business.id
    assert _limits(Tenant.get_by_id(tenant.id)) == _package_limits(business)


def test_given_a_new_password_in_whmcs_when_it_is_changed_then_the_admin_logs_in_with_it(whmcs):
    whmcs.update_service(SERVICE, password="Changed-Pass-2027")
    whmcs.run("password")
    assert "Changed-Pass-2027" not in json.dumps(whmcs.read()["modulelog"])
    assert Portal(whmcs.port).login("acmedialers", "Changed-Pass-2027")
    assert not Portal(whmcs.port).login("acmedialers", "Initial-Pass-2026")


def test_given_a_paid_renewal_when_whmcs_calls_renew_twice_then_the_period_is_extended_once(whmcs):
    tenant = _tenant()
    before = Subscription.get(Subscription.tenant == tenant.id)
    rows = LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                      LedgerEntry.kind == "subscription")
    count = rows.count()
    whmcs.update_service(SERVICE, nextduedate="2027-02-02")  # WHMCS applied the payment
    whmcs.run("renew")
    after = Subscription.get(Subscription.tenant == tenant.id)
    assert after.period_end > before.period_end
    assert after.period_start == before.period_end
    assert rows.count() == count + 1
    renewal = rows.order_by(LedgerEntry.id.desc()).first()
    assert "2027-02-02" in renewal.reference and renewal.amount == 0
    keys = IdempotencyKey.select().where(IdempotencyKey.key.startswith(f"whmcs-{SERVICE}-renew-"))
    assert keys.count() == 1, "WHMCS's second Renew went under the first one's key"
    renews = [e for e in whmcs.read()["modulelog"]
              if e["action"] == "Renew" and "/renew" in e["request"]]
    assert len(renews) == 2 and "[replayed] => 1" in renews[1]["processed"]


def test_given_calls_and_messages_when_whmcs_collects_usage_then_the_module_reports_them(whmcs):
    tenant = _tenant()
    now = utcnow()
    for i, billsec in enumerate((125, 61)):  # 186 s: 4 minutes (rounded up once)
        Call.create(tenant=tenant.id, number="+4930555000", channel_id=f"whmcs-usage-{i}",
                    started_at=now - dt.timedelta(minutes=5), billsec=billsec, duration=billsec)
    for channel, units in (("sms", 1), ("sms", 2), ("fax", 3), ("email", 1), ("email", 1)):
        Message.create(tenant=tenant.id, channel=channel, address="+4930555001", units=units,
                       state="sent", cost=Decimal("0.05"), submitted_at=now)
    whmcs.env.update(VOXCAST_EXPECT_MINUTES="4", VOXCAST_EXPECT_SMS="2",
                     VOXCAST_EXPECT_FAX_PAGES="3", VOXCAST_EXPECT_EMAILS="2",
                     VOXCAST_EXPECT_DISK_LIMIT=str(whmcs.packages["business"].disk_quota_mb))
    whmcs.run("usage")
    data = whmcs.read()
    assert data["results"]["tenant_usage"] == {"voice_minutes": 4, "sms_messages": 2,
                                               "fax_pages": 3, "emails": 2}
    assert data["services"][str(SERVICE)]["disklimit"] == whmcs.packages["business"].disk_quota_mb


def test_given_a_client_in_whmcs_when_they_click_log_in_then_the_link_opens_the_portal_once(whmcs):
    whmcs.run("sso")
    url = urllib.parse.urlsplit(whmcs.read()["results"]["sso_url"])
    portal = Portal(whmcs.port)
    status, headers, _ = portal.request("GET", url.path, host=url.netloc)
    assert status in (302, 303), (status, headers)
    status, page = portal.home(host=url.netloc)
    assert status == 200 and "Log out" in page, (status, page[:300])
    again = Portal(whmcs.port)
    status, _, _ = again.request("GET", url.path, host=url.netloc)
    assert status in (404, 410), "a sign-on link works once"


def test_given_a_topup_order_when_whmcs_creates_it_then_the_clients_balance_is_credited_once(whmcs):
    tenant = _tenant()
    balance = tenant.balance
    whmcs.run("topup")
    tenant = _tenant()
    assert tenant.balance == balance + Decimal("50.00")
    topups = LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                        LedgerEntry.kind == "topup")
    assert topups.count() == 1
    assert f"#{TOPUP_SERVICE}" in topups.first().reference
    assert Subscription.select().where(
        Subscription.external_id == f"whmcs-{TOPUP_SERVICE}").count() == 0


def test_given_a_cancelled_service_when_whmcs_terminates_it_then_the_tenant_is_gone(whmcs):
    tenant_id = _tenant().id
    whmcs.run("terminate")
    assert Tenant.get_or_none(Tenant.id == tenant_id) is None
    assert not User.select().where(User.tenant == tenant_id).exists()
    actions = {e["action"] for e in whmcs.read()["modulelog"]}
    assert actions >= {"CreateAccount", "SuspendAccount", "UnsuspendAccount", "ChangePackage",
                       "ChangePassword", "Renew", "ServiceSingleSignOn", "TerminateAccount",
                       "MetricProvider", "UsageUpdate"}
