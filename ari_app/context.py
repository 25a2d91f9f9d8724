"""What every flow needs, built once in ari_app.main.build() and handed over in one object,
so tests build it with their own parts (fakes included)."""
from __future__ import annotations

from dataclasses import dataclass

from voxcast.billing.call_credit import CallBilling
from voxcast.config import Settings

from .calls import ChannelCounter, Router
from .cdr import Cdrs
from .claims import Claims
from .client import AriClient
from .dids import DidDirectory
from .meter import CreditMeter
from .tasks import TaskSet
from .writer import Writer


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
