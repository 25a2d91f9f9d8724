"""The feature codes' outcomes (voxcast.phones.features) on a real SQLite file: each returns
the prompt the caller hears, failures included, and never raises."""
from __future__ import annotations

from models import Tenant
from models.entities import AgentSession, PauseReason
from voxcast.phones import features

from .agents_support import extension_number, make_agent


def _live(user):
    return AgentSession.get_or_none(AgentSession.user == user.id, AgentSession.ended_at.is_null())


def test_login_pause_ready_logout_by_extension(db):
    tenant = Tenant.create(name="fc", slug="fc")
    PauseReason.create(tenant=tenant, name="Lunch", active=False)
    first = PauseReason.create(tenant=tenant, name="Training")
    PauseReason.create(tenant=tenant, name="Break")
    agent = make_agent(tenant, "fc-agent", pin="2468")
    ext = extension_number(agent)

    assert features.pause(ext) == features.NOT_ALLOWED  # not logged in
    assert features.login(ext, "1111") == features.PIN_INVALID
    assert _live(agent) is None
    assert features.login(ext, "2468") == features.LOGGED_IN
    assert _live(agent).via == "phone"
    assert features.pause(ext) == features.PAUSED
    assert _live(agent).pause_reason_id == first.id  # the first active reason
    assert features.pause(ext) == features.PAUSED  # already paused: still told so
    assert features.ready(ext) == features.READY
    assert _live(agent).state == "ready"
    assert features.logout(ext) == features.LOGGED_OUT
    assert _live(agent) is None
    assert features.logout(ext) == features.LOGGED_OUT  # nothing to end: same answer


def test_phones_without_an_agent_are_not_allowed(db):
    tenant = Tenant.create(name="fd", slug="fd")
    supervisor = make_agent(tenant, "fd-sup", role="supervisor")
    ext = extension_number(supervisor)
    assert features.login(ext, "4321") == features.NOT_ALLOWED
    assert features.login("0000", "4321") == features.NOT_ALLOWED
    assert features.ready("0000") == features.NOT_ALLOWED
