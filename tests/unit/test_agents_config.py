"""Pause reasons and dispositions services: names unique per tenant, the system reason kept,
another tenant's ids not found, every change in the tenant log."""
from __future__ import annotations

import pytest

from models import Tenant, TenantLog
from voxcast.agents import dispositions, errors, pause_reasons, sessions, states

from .agents_support import make_agent


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme")


@pytest.fixture
def other(db):
    return Tenant.create(name="Other", slug="other")


def test_pause_reasons_crud_and_names(acme, other):
    lunch = pause_reasons.create(acme.id, "  Lunch  break ")
    assert lunch.name == "Lunch break"
    with pytest.raises(errors.AgentInputError) as exc:
        pause_reasons.create(acme.id, "lunch BREAK")
    assert exc.value.field == "name"
    pause_reasons.create(other.id, "Lunch break")  # another tenant may use the name
    with pytest.raises(errors.AgentInputError):
        pause_reasons.create(acme.id, "")
    pause_reasons.update(acme.id, lunch.id, name="Lunch", active=False)
    assert [r.name for r in pause_reasons.list_reasons(acme.id)] == ["Lunch"]
    assert pause_reasons.list_reasons(acme.id, active_only=True) == []
    assert pause_reasons.first_active(acme.id) is None
    training = pause_reasons.create(acme.id, "Training")
    assert pause_reasons.first_active(acme.id).id == training.id
    pause_reasons.delete(acme.id, lunch.id)
    assert [r.name for r in pause_reasons.list_reasons(acme.id)] == ["Training"]
    actions = [a for (a,) in TenantLog.select(TenantLog.action).where(
        TenantLog.tenant == acme.id).tuples()]
    assert actions.count("pause_reason.create") == 2 and "pause_reason.delete" in actions


def test_another_tenants_reason_is_not_found(acme, other):
    theirs = pause_reasons.create(other.id, "Break")
    for call in (lambda: pause_reasons.get(acme.id, theirs.id),
                 lambda: pause_reasons.update(acme.id, theirs.id, name="Mine"),
                 lambda: pause_reasons.delete(acme.id, theirs.id)):
        with pytest.raises(errors.NotFound):
            call()
    assert pause_reasons.get(other.id, theirs.id).name == "Break"


def test_the_system_reason_is_kept_and_a_reason_in_use_stays(acme):
    system = states.system_reason(acme.id)
    with pytest.raises(errors.AgentInputError):
        pause_reasons.delete(acme.id, system.id)
    with pytest.raises(errors.AgentInputError):
        pause_reasons.update(acme.id, system.id, name="No answer", active=False)
    renamed = pause_reasons.update(acme.id, system.id, name="Missed calls")
    assert renamed.system and states.system_reason(acme.id).id == system.id
    assert pause_reasons.first_active(acme.id) is None  # never the system's for *52
    lunch = pause_reasons.create(acme.id, "Lunch")
    agent = make_agent(acme, "alice")
    s = sessions.login(acme.id, agent.id)
    states.set_state(s.id, "paused", pause_reason_id=lunch.id)
    with pytest.raises(errors.AgentInputError):
        pause_reasons.delete(acme.id, lunch.id)
    pause_reasons.update(acme.id, lunch.id, name="Lunch", active=False)
    with pytest.raises(errors.AgentInputError):  # an inactive reason cannot be chosen
        states.set_state(s.id, "paused", pause_reason_id=lunch.id)


def test_given_a_tenant_name_clash_the_system_reason_adopts_it(acme):
    mine = pause_reasons.create(acme.id, "No answer", active=False)
    system = states.system_reason(acme.id)
    assert system.id == mine.id and system.system and system.active


def test_dispositions_crud_order_and_kinds(acme, other):
    later = dispositions.create(acme.id, "Call back", "callback", position=20)
    sale = dispositions.create(acme.id, "Sale", position=10)
    dispositions.create(acme.id, "Do not call", "dnc", position=30)
    assert [d.name for d in dispositions.list_dispositions(acme.id)] == [
        "Sale", "Call back", "Do not call"]
    with pytest.raises(errors.AgentInputError) as exc:
        dispositions.create(acme.id, "X", "weird")
    assert exc.value.field == "kind"
    with pytest.raises(errors.AgentInputError) as exc:
        dispositions.create(acme.id, "sale")
    assert exc.value.field == "name"
    with pytest.raises(errors.AgentInputError) as exc:
        dispositions.create(acme.id, "Y", position="first")
    assert exc.value.fields == {"position": "A position from 0 to 1000."}
    dispositions.update(acme.id, later.id, name="Callback", kind="callback", position=5,
                        active=False)
    assert [d.name for d in dispositions.list_dispositions(acme.id, active_only=True)] == [
        "Sale", "Do not call"]
    with pytest.raises(errors.NotFound):
        dispositions.update(other.id, sale.id, name="Mine", kind="normal")
    with pytest.raises(errors.NotFound):
        dispositions.delete(other.id, sale.id)
    dispositions.delete(acme.id, sale.id)
    assert len(dispositions.list_dispositions(acme.id)) == 2
