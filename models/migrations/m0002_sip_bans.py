"""The SIP ban list (voxcast.runtime.sip_guard): failed SIP authentications per address and bans."""
from __future__ import annotations

from ..entities import SipBan

CREATES = [SipBan]


def up(ops) -> None:
    ops.create_table(SipBan)


def down(ops) -> None:
    ops.drop_table(SipBan)
