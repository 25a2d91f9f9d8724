"""The SIP ban list (voxcast.sip_guard): failed SIP authentications per address and bans."""
from __future__ import annotations

from ..entities import SipBan


def up(ops) -> None:
    ops.create_table(SipBan)
