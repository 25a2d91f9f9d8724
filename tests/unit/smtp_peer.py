"""A real SMTP server (aiosmtpd) on a free loopback port, for tests of outgoing mail."""
from __future__ import annotations

import email
import email.policy
import re
import socket
import time

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} message(s), got {len(self.messages)}"
        return self.messages[count - 1]

    @staticmethod
    def body(msg) -> str:
        return msg.get_body(preferencelist=("plain",)).get_content()

    def link(self, msg) -> str:
        match = re.search(r"https?://\S+/activate/\S+", self.body(msg))
        assert match, self.body(msg)
        return match.group(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """Inbox of an SMTP server the app is pointed at through VOXCAST_SMTP_*."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("VOXCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOXCAST_SMTP_PORT", str(port))
    monkeypatch.setenv("VOXCAST_SMTP_FROM", "noc@provider.test")
    monkeypatch.setenv("VOXCAST_BASE_URL", "http://voxcast.test")
    monkeypatch.setenv("VOXCAST_BASE_DOMAIN", "voxcast.test")
    yield inbox
    controller.stop()
