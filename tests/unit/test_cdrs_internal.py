"""A phone's internal call in the tenant's call records: caller and called extension, direction
"internal", billed seconds; another tenant never sees it."""
from __future__ import annotations

from models import Call


def test_internal_call_shows_both_extensions_only_to_its_tenant(auth, make_tenant):
    acme, acme_user = make_tenant("acme")
    _, other_user = make_tenant("other")
    Call.create(tenant=acme, direction="internal", number="8301", did="8302",
                channel_id="ph-1-ext", disposition="ANSWERED", duration=5, billsec=3)
    auth.login(acme_user.username, f"pw-{acme_user.username}")
    page = auth.client.get("/cdrs/").get_data(as_text=True)
    assert "8301 → 8302" in page and "<td>internal</td>" in page
    auth.logout()
    auth.login(other_user.username, f"pw-{other_user.username}")
    page = auth.client.get("/cdrs/").get_data(as_text=True)
    assert "8301" not in page and "8302" not in page
