"""Two nodes on one PostgreSQL (issue 16, item 3): two Asterisk instances on their own ports,
two Stasis apps, one database. A campaign larger than one node's channel limit runs on both
with the tenant's limit held across them; one node's app is SIGKILLed mid-campaign and never
restarted, the other takes its calls over and finishes; every contact is dialed exactly once,
counted from the INVITEs the far end (sipp) received.

Kamailio in front of two nodes is test_kamailio.py's: this one is about the dialer."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections import Counter

import pytest

from models import Call, Campaign, CampaignContact, Tenant
from models.entities import Node
from voxcast import config
from voxcast.campaigns import services as campaign_service
from voxcast.runtime import asterisk

from .child_process import VoxcastProcess, settings_in
from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .test_kamailio import _app_connected, _ari

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="several nodes share one PostgreSQL")

NODE_CHANNELS, TENANT_LIMIT, CONTACTS = 3, 5, 24
STALE_S = 6  # a silent node is taken over after this (VOXCAST_NODE_STALE_S)


def _node_env(node: str, **extra) -> dict:
    return {**os.environ, "VOXCAST_NODE": node, "VOXCAST_MAX_CHANNELS": str(NODE_CHANNELS),
            "VOXCAST_NODE_STALE_S": str(STALE_S), **extra}


def _second_instance(a: config.Settings) -> tuple[config.Settings, dict]:
    """Node 2: its own Asterisk and ports (70 above the suite's), the suite's database, and
    the suite's trunk, so one sipp is the far end of both nodes."""
    name = f"{a.instance}-n2"
    offset = int(os.environ.get("VOXCAST_PORT_OFFSET", 0)) + 70
    env = _node_env("n2", VOXCAST_INSTANCE=name, VOXCAST_PORT_OFFSET=str(offset),
                    DATABASE_URL=a.db_url, VOXCAST_TRUNK_PORT=str(a.trunk_port),
                    VOXCAST_ARI_PASSWORD=a.ari_password(),  # one for the cluster's nodes
                    VOXCAST_RTP_START=str(a.rtp_end + 2001), VOXCAST_RTP_END=str(a.rtp_end + 3000))
    return settings_in(env, name), env


class Peak(threading.Thread):
    """The most open CDRs (each a channel lease) of the tenant, and per node, seen at once."""

    def __init__(self, tenant_id: int):
        super().__init__(daemon=True)
        self.tenant_id = tenant_id
        self.total = 0
        self.per_node: Counter = Counter()
        self.running = True

    def run(self) -> None:
        while self.running:
            rows = (Call.select(Call.node).where(Call.tenant == self.tenant_id,
                                                  Call.ended_at.is_null()).tuples())
            nodes = Counter(n for (n,) in rows)
            self.total = max(self.total, sum(nodes.values()))
            for node, n in nodes.items():
                self.per_node[node] = max(self.per_node[node], n)
            time.sleep(0.05)


@pytest.fixture
def two_nodes(runtime, db, stasis_app, artifacts):
    """The suite's Stasis app makes way for node n1 (the suite's Asterisk) and n2 (its own)."""
    stasis_app.stop()
    b, env = _second_instance(runtime)
    asterisk.provision(b)  # the shared chroot: the instance's own directories and config
    asterisk.stop(b)
    asterisk.start(b)
    n1 = VoxcastProcess(artifacts / "stasis-app-n1.log",
                        _node_env("n1", VOXCAST_ARI_PASSWORD=runtime.ari_password()))
    n2 = VoxcastProcess(artifacts / "stasis-app-n2.log", env)
    try:
        n1.spawn("--instance", runtime.instance, "ari-app")
        n2.spawn("--instance", b.instance, "ari-app")
        wait_for(lambda: _app_connected(runtime) and _app_connected(b), 30,
                 message="both nodes' Stasis apps")
        yield n1, n2, b
    finally:
        n1.stop()
        n2.stop()
        asterisk.stop(b)
        Node.delete().where(Node.name.in_(("n1", "n2"))).execute()
        stasis_app.start()


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_given_two_nodes_when_one_app_dies_mid_campaign_then_the_other_finishes_and_each_contact_is_dialed_once(
        two_nodes, runtime, master, workdir, fault):
    """killed: SIGKILL (its Asterisk ends the calls the app had, which leave Stasis). frozen:
    SIGSTOP, as a hung app or one cut off from the database: its ARI socket stays open, so its
    calls stay up on its Asterisk until the survivor, having closed their CDRs, hangs them
    up there."""
    n1, n2, b = two_nodes
    phones = unique_phones(CONTACTS)
    limit_before = master.channel_limit
    Tenant.update(channel_limit=TENANT_LIMIT).where(Tenant.id == master.id).execute()
    campaign = make_campaign(master, runtime, phones, channel_limit=50, max_attempts=1,
                             text="Hello from voxcast. This is a test. Goodbye.")
    # Prompts live on each node (README: shared storage for sounds in a cluster).
    b.sounds_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(runtime.sounds_dir / f"{campaign.message_file}.wav", b.sounds_dir)
    uas = Sipp.uas("uas_answer.xml", workdir, runtime.trunk_port, calls=CONTACTS, timeout=180)
    uas.start()
    peak = Peak(master.id)
    peak.start()
    try:
        campaign_service.start(campaign, runtime)

        def both_dialing():
            nodes = Counter(n for (n,) in Call.select(Call.node)
                            .where(Call.campaign == campaign).tuples())
            done_n2 = (Call.select().where(Call.campaign == campaign, Call.node == "n2",
                                           Call.ended_at.is_null(False)).count())
            live_n2 = (Call.select().where(Call.campaign == campaign, Call.node == "n2",
                                           Call.ended_at.is_null()).count())
            return nodes["n1"] >= 2 and done_n2 >= 2 and live_n2 >= 1
        wait_for(both_dialing, 90, interval=0.05,
                 message=f"both nodes dialing\n{n2.log_tail()}")
        # node 2's app dies (or hangs), its Asterisk lives on; never restarted
        n2.proc.send_signal(signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
        left_open = Call.select().where(Call.node == "n2", Call.ended_at.is_null()).count()
        assert left_open >= 1  # the fault really left calls of node 2 in progress
        if fault == "frozen":
            assert _ari(b, "/channels"), "node 2's calls are up on its Asterisk"
        wait_for(lambda: reload(campaign).status == "completed", 150, interval=0.2,
                 message=f"campaign completed by node 1\n{n1.log_tail()}")
        # node 2's Asterisk lived on: no call it had is left up there
        wait_for(lambda: _ari(b, "/channels") == [], 20,
                 message=f"node 2's calls ended on its Asterisk\n{n1.log_tail()}")
    finally:
        n2.proc.send_signal(signal.SIGKILL)  # a frozen app too: it never comes back
        peak.running = False
        peak.join(5)
        Campaign.update(status="stopped").where(Campaign.id == campaign.id,
                                                Campaign.status != "completed").execute()
        Tenant.update(channel_limit=limit_before).where(Tenant.id == master.id).execute()
        asterisk.stop(b)  # its calls still in Stasis end, so the far end sees every BYE
        time.sleep(1)
        uas.stop()

    # this campaign's numbers: an earlier test's INVITE may still be retransmitted to the trunk
    invites = {n: k for n, k in uas.invites_by_number().items() if n in set(phones)}
    assert sorted(invites) == sorted(phones), "a contact was skipped"
    assert set(invites.values()) == {1}, f"dialed twice: {[p for p, n in invites.items() if n > 1]}"

    calls = list(Call.select().where(Call.campaign == campaign))
    assert all(c.ended_at is not None for c in calls), "a CDR was left open"
    by_node = Counter(c.node for c in calls)
    assert by_node["n1"] > 0 and by_node["n2"] > 0, by_node
    placed = Counter(c.number for c in calls if c.disposition != "NOT PLACED")
    assert set(placed.values()) == {1} and sorted(placed) == sorted(phones)
    assert peak.total <= TENANT_LIMIT, peak.total
    assert max(peak.per_node.values()) <= NODE_CHANNELS, peak.per_node
    assert peak.total > NODE_CHANNELS  # more than one node could carry: both really did
    entries = list(CampaignContact.select().where(CampaignContact.campaign == campaign))
    assert all(e.state in ("done", "failed") for e in entries)
    taken = Node.get_by_id("n2")
    assert (taken.state, taken.taken_over_by) == ("down", "n1")
