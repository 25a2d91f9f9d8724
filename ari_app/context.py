"""What every flow needs, handed over in one object so tests can build it with their own parts."""
from __future__ import annotations

from dataclasses import dataclass

from voxcast.config import Settings

from .calls import ChannelCounter, Router
from .client import AriClient
from .store import Store


@dataclass
class AppContext:
    settings: Settings
    ari: AriClient
    store: Store
    router: Router
    channels: ChannelCounter
