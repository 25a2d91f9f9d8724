"""The messaging pages are reachable from the nav: a tenant with the fax feature sees its fax
documents and received faxes, one with SMS its inbound SMS (and neither without the feature);
the provider's admin sees the SMSC connections. Each linked page opens, also by its bare
section URL (without the trailing slash)."""
from __future__ import annotations

import pytest

from .conftest import ADMIN_PASSWORD

LINKS = {"fax": ('href="/fax/documents/"', 'href="/fax/inbox/"'),
         "sms": ('href="/sms/inbound/"',),
         "email": ('href="/email-dnc/"',)}


def _nav(html: str) -> str:
    return html[html.index("<nav"):html.index("</nav>")]


def _opens(client, href: str) -> None:
    url = href.split('"')[1]
    assert client.get(url).status_code == 200, url
    bare = client.get(url.rstrip("/"), follow_redirects=True)
    assert bare.status_code == 200 and bare.request.path == url, url


@pytest.mark.parametrize("features", ["fax", "sms", "email", "fax sms email", ""])
@pytest.mark.parametrize("role", ["tenant", "user"])
def test_given_a_tenant_with_messaging_features_then_the_nav_links_their_pages(
        make_tenant, auth, client, features, role):
    _tenant, user = make_tenant("acme", role=role, features=f"voice_message {features}")
    auth.login(user.username, f"pw-{user.username}")
    nav = _nav(client.get("/", follow_redirects=True).get_data(as_text=True))
    for feature, links in LINKS.items():
        for link in links:
            assert (link in nav) is (feature in features.split()), (feature, nav)
            if link in nav:
                _opens(client, link)
    assert "/admin/smsc/" not in nav


def test_the_provider_admin_nav_links_the_smsc_connections(auth, client):
    auth.login("admin", ADMIN_PASSWORD)
    nav = _nav(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert 'href="/admin/smsc/"' in nav, nav
    _opens(client, 'href="/admin/smsc/"')


def test_an_email_campaigns_page_links_its_preview_and_a_voice_campaigns_does_not(
        make_tenant, make_group, auth, client):
    from models import Campaign, Contact
    tenant, user = make_tenant("acme", features="voice_message email")
    group = make_group(tenant)
    Contact.create(tenant=tenant, group=group, phone="+4930123456", email="ann@example.com",
                   first_name="Ann")
    mail = Campaign.create(tenant=tenant, name="Mailing", type="email", group=group,
                           email_subject="Hello {{ first_name }}", email_text="Hi {{ first_name }}")
    voice = Campaign.create(tenant=tenant, name="Calls", group=group)
    auth.login(user.username, f"pw-{user.username}")

    page = client.get(f"/campaigns/{mail.id}").get_data(as_text=True)
    preview = f"/campaigns/{mail.id}/email-preview"
    assert f'href="{preview}"' in page
    shown = client.get(preview)
    assert shown.status_code == 200 and "Hello Ann" in shown.get_data(as_text=True)
    assert "email-preview" not in client.get(f"/campaigns/{voice.id}").get_data(as_text=True)
