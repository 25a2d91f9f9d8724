"""Issue 12 item 9 for the contact centre: a German tenant's caller waiting in its queue hears
the queue's prompts in German. Real Asterisk and Stasis app, a sipp caller on the DID: the
waiting channel's language is "de" (Asterisk then plays sounds/de/vx-queue-position, checked
against the German file in test_language) and the position announcement plays on it."""
from __future__ import annotations

import secrets

from voxcast.accounts.passwords import hash_password

from models import Extension, Tenant, User
from models.entities import Queue, QueueMember
from voxcast.agents import sessions, states

from .conftest import wait_for
from .test_queues import _announcement, _call, _did_to, _queue_call, _seq, _waiting_channel


def test_given_german_tenant_when_its_caller_waits_in_a_queue_then_the_prompts_are_german(
        stasis_app, settings, workdir):
    slug = f"dequeue-{secrets.token_hex(3)}"
    tenant = Tenant.create(name=slug, slug=slug, channel_limit=5, language="de")
    user = User.create(tenant=tenant, username=f"{slug}-agent", role="agent",
                       password_hash=hash_password("x"))
    Extension.create(number=f"75{next(_seq):03d}", secret=secrets.token_urlsafe(12),
                     tenant=tenant, user=user)
    session = sessions.login(tenant.id, user.id)
    states.set_state(session.id, "paused")  # logged in, so the caller waits
    queue = Queue.create(tenant=tenant, name="Kundendienst", strategy="longest_idle",
                         ring_seconds=3, max_wait_seconds=30, announce_every_seconds=1,
                         wrapup_seconds=0, fallback="message")
    QueueMember.create(tenant=tenant, queue=queue, user=user, penalty=0)
    did = _did_to(tenant, queue)
    try:
        caller = _call(settings, workdir, did, scenario="uac_call_did_hangup.xml", hold_ms=3500)
        # the caller's channel once answered and waiting (before the answer it is still
        # ringing in Asterisk's default language: the app sets the tenant's after the answer)
        channel = wait_for(lambda: (c := _waiting_channel(settings)) and c["state"] == "Up"
                           and c, 5, message="caller's channel answered")
        channel = wait_for(lambda: (c := _waiting_channel(settings)) and c["language"] == "de"
                           and c, 2, message=f"the waiting caller in German ({channel})")
        playback = wait_for(lambda: _announcement(settings, channel["id"]), 5,
                            message="announcement")
        assert playback["media_uri"].startswith("sound:vx-queue-position"), playback
        assert playback["language"] == "de", playback
        assert caller.wait(30) == 0, caller.diagnostics()
        assert _queue_call(queue).outcome == "abandoned"
    finally:
        sessions.end_for_user(user.id, "logout")
