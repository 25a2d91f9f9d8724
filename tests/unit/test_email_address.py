"""One e-mail check for the whole project (voxcast.accounts.email_address, email-validator without a
DNS look-up), used by the services behind the UI, by the API's `format: email` and by the
contact import. The refused addresses below all passed the regex it replaced
(^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$)."""
from __future__ import annotations

import re

import pytest

from models import Contact, Tenant, User
from voxcast.contacts import services as contact_service
from voxcast.accounts import email_address
from voxcast.accounts import users as user_service
from voxcast.contacts.services import ContactError
from voxcast.accounts.users import UserError

from .conftest import ADMIN_PASSWORD

OLD_REGEX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACCEPTED = {
    "alice@example.com": "alice@example.com",
    "Alice.Smith+news@Mail.Example.COM": "Alice.Smith+news@mail.example.com",
    "o'brien@acme.example": "o'brien@acme.example",
    "x@münchen.example": "x@xn--mnchen-3ya.example",  # stored as sent: IDNA
}
REFUSED = [
    "ann@example..com",       # empty label
    "ann..lee@example.com",   # two dots in a row
    ".ann@example.com",       # leading dot
    "<ann@example.com>",      # angle brackets
    "ann@-example.com",       # label starts with a dash
    "ann,lee@example.com",    # comma
    "ann@example.com.",       # trailing dot
    "ann@mail.localhost",     # special-use names have no public mail
    "ann@example.invalid",
    "jörg@example.com",       # SMTPUTF8: the relay may refuse it
    "a" * 250 + "@x.example",  # longer than 254
]


@pytest.mark.parametrize("address,stored", ACCEPTED.items())
def test_accepted_addresses_are_normalized(address, stored):
    assert email_address.normalize(address) == stored
    assert email_address.is_valid(address)


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses_the_old_regex_accepted(address):
    assert OLD_REGEX.match(address)  # the bug: these got through
    with pytest.raises(email_address.InvalidEmail):
        email_address.normalize(address)
    assert not email_address.is_valid(address)


@pytest.mark.parametrize("address", ["", "ann", "ann@example", "ann @example.com", None, 12])
def test_plainly_refused(address):
    assert not email_address.is_valid(address)


def test_there_is_one_email_check_in_the_code():
    """No module keeps a copy of an e-mail regex beside voxcast.accounts.email_address."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    copies = [str(p.relative_to(root)) for d in ("voxcast", "webui", "models", "ari_app")
              for p in (root / d).rglob("*.py")
              if re.search(r"EMAIL_RE|\[\^@", p.read_text(encoding="utf-8"))]
    assert copies == []


def test_user_service_refuses_and_normalizes(db):
    tenant = Tenant.get(Tenant.slug == "master")
    with pytest.raises(UserError) as exc:
        user_service.create_user(tenant, username="bob", role="user", password="bob-pass-12",
                                 pin="1234", email="bob@example..com")
    assert exc.value.field == "email"
    user = user_service.create_user(tenant, username="bob", role="user",
                                    password="bob-pass-12", pin="1234", email="Bob@EXAMPLE.com")
    assert User.get_by_id(user.id).email == "Bob@example.com"


def test_contact_service_refuses_and_normalizes(db, make_group):
    tenant = Tenant.get(Tenant.slug == "master")
    group = make_group(tenant)
    with pytest.raises(ContactError, match="not an e-mail address"):
        contact_service.add_contact(group, "US", "+14155550123", email="<ann@example.com>")
    contact = contact_service.add_contact(group, "US", "+14155550123", email="ann@Example.COM")
    assert Contact.get_by_id(contact.id).email == "ann@example.com"


def test_import_reports_a_bad_address_and_stores_the_normalized_one(db, make_group):
    tenant = Tenant.get(Tenant.slug == "master")
    group = make_group(tenant)
    result = contact_service.import_rows(
        group, "US", "phone,email\n+14155550123,ann@Example.COM\n+14155550124,bob@example..com\n",
        ",", ["phone", "email"], True)
    assert result.imported == 1
    assert [(e.row, e.value, e.reason) for e in result.errors] == [
        (3, "bob@example..com", "not an e-mail address")]
    assert [c.email for c in Contact.select().where(Contact.group == group)] == ["ann@example.com"]


def test_admin_form_refuses_an_admin_address_the_old_regex_accepted(auth):
    auth.login("admin", ADMIN_PASSWORD)
    page = auth.client.get("/admin/tenants/new").get_data(as_text=True)
    assert "admin_email" in page
    from .test_admin_tenants import new_tenant_form
    resp = auth.post("/admin/tenants/new", new_tenant_form(admin_email="ada@acme..example"))
    assert resp.status_code == 400 and "valid e-mail" in resp.get_data(as_text=True)
    assert Tenant.get_or_none(Tenant.slug == "acme") is None
