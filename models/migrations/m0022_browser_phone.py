"""Issue 17, item 7: an extension may be a browser phone (Extension.browser_phone, off for
existing ones): its PJSIP endpoint is rendered for WebRTC (the WSS transport, DTLS-SRTP, ICE,
AVPF, rtcp-mux), and the agent console registers JsSIP to it."""
from __future__ import annotations

from ..entities import Extension

ADDS = [(Extension, "browser_phone")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
