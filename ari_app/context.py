"""What every flow needs, built once in ari_app.main.build() and handed over in one object,
so tests build it with their own parts (fakes included)."""
from __future__ import annotations

from dataclasses import dataclass, field

from voxcast.billing.call_credit import CallBilling
from voxcast.config import Settings

from ari_app.calls import ChannelCounter, Router
from voxcast.cdr.records import Cdrs
from voxcast.dialing.claims import Claims
from ari_app.client import AriClient
from ari_app.dids import DidDirectory
from ari_app.language import TenantLanguages
from ari_app.meter import CreditMeter
from ari_app.metrics import AppMetrics
from ari_app.overload import Overload
from ari_app.tasks import TaskSet
from ari_app.writer import Writer


@dataclass
class AppContext:
    settings: Settings
    ari: AriClient
    writer: Writer  # every database job runs on its thread
    router: Router
    channels: ChannelCounter
    tasks: TaskSet  # every background task, kept and its failure logged
    claims: Claims  # claiming due contacts, through the admission gates
    cdrs: Cdrs  # closing CDRs (billing settles there)
    billing: CallBilling  # reservations and settlement (writer thread)
    credit: CreditMeter  # each call's meter (event loop)
    dids: DidDirectory
    overload: Overload = field(default_factory=Overload)  # refuses new inbound calls while behind
    languages: TenantLanguages = field(default_factory=TenantLanguages)  # tenant -> prompt language
    metrics: AppMetrics = field(default_factory=AppMetrics)  # this app's own registry
    agents: object = None  # ari_app.agent_pool.AgentPool: agents, offers, agent bridges (ACD)
    console: object = None  # ari_app.agent_commands.AgentCommands: the agent console's calls
    monitor: object = None  # ari_app.flows.monitor.MonitorCommands: supervisors listening in
    cluster: object = None  # ari_app.cluster.Membership when VOXCAST_NODE names this node
