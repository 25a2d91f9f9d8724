"""The e-mail campaign tests' parts: an aiosmtpd SMTP peer that can refuse recipients (5xx
for good, 4xx a number of times) and go away mid-campaign, and `voxcast messaging` in its
own process pointed at it."""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import threading
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller

from voxcast import config

from .conftest import wait_for
from .messaging_support import MessagingProcess


class PeerHandler:
    def __init__(self, peer: "SmtpPeer"):
        self.peer = peer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.peer.lock:
            key = address.lower()
            if key in self.peer.refuse_hard:
                return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
            if self.peer.refuse_soft.get(key, 0) > 0:
                self.peer.refuse_soft[key] -= 1
                self.peer.soft_refusals[key] += 1
                return "450 4.2.1 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.peer.lock:
            self.peer.data_seen += 1
            crash = self.peer.crash_at is not None and self.peer.data_seen == self.peer.crash_at
            hold = self.peer.hold_at is not None and self.peer.data_seen == self.peer.hold_at
        if hold:
            # The reply to this message's data is held back until the test releases it;
            # then the message is refused, never stored (the sender died meanwhile).
            self.peer.holding.set()
            while not self.peer.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 aborted"
        if crash:
            # The server dies with the message's data in hand and before its reply: the
            # message was not accepted (never stored); the sender must send it again.
            server.transport.abort()
            threading.Thread(target=self.peer.outage, args=(self.peer.outage_s,),
                             daemon=True).start()
            return "421 4.3.0 going away"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.peer.lock:
            self.peer.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            self.peer.sessions[envelope.rcpt_tos[0].lower()] = session.peer
        return "250 2.0.0 OK queued"


class SmtpPeer:
    def __init__(self, port: int):
        self.port = port
        self.lock = threading.Lock()
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse_hard: set[str] = set()
        self.refuse_soft: dict[str, int] = {}
        self.soft_refusals: Counter = Counter()
        self.sessions: dict[str, tuple] = {}  # recipient -> the client's (host, port)
        self.crash_at: int | None = None
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.outage_s = 3.0
        self.data_seen = 0
        self.outages = 0
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(PeerHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def outage(self, seconds: float) -> None:
        self.stop()
        self.outages += 1
        time.sleep(seconds)
        self.start()

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for _, rcpts, m in self.received if address.lower() in
                    (r.lower() for r in rcpts)]

    def envelope_of(self, address: str) -> str:
        with self.lock:
            return next(f for f, rcpts, _ in self.received if address.lower() in
                        (r.lower() for r in rcpts))

    def counts(self) -> Counter:
        with self.lock:
            return Counter(r.lower() for _, rcpts, _ in self.received for r in rcpts)


def messaging_env(settings: config.Settings, smtp_port: int) -> dict:
    return {**os.environ, "VOXCAST_SMTP_HOST": "127.0.0.1", "VOXCAST_SMTP_PORT": str(smtp_port),
            "VOXCAST_SMTP_FROM": "news@provider.example.com",
            "VOXCAST_BOUNCE_ADDRESS": "bounces@provider.example.com",
            "VOXCAST_BASE_URL": f"http://127.0.0.1:{settings.web_port}",
            "VOXCAST_EMAIL_POLL_S": "0.3"}


def messaging_process(settings: config.Settings, logdir: Path, smtp_port: int) -> MessagingProcess:
    """`voxcast messaging` of the instance, sending to the SMTP peer on `smtp_port`; started
    once its bounce listener answers."""
    return MessagingProcess(logdir, messaging_env(settings, smtp_port),
                            instance=settings.instance, ready_port=settings.bounce_port)
