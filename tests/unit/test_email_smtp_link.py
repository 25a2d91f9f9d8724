"""The SMTP link's reading of each step's reply, against a real aiosmtpd server that answers
as told: what is sent, bounced, retried, rejected, and when the link counts as lost."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from messaging_app.email_sender import LinkLost, SmtpLink
from voxcast.mailer import MailSettings
from voxcast.messaging.email.building import Envelope

from .smtp_peer import free_port


class Scripted:
    def __init__(self):
        self.mail = "250 OK"
        self.rcpt = "250 OK"
        self.data = "250 OK"
        self.stored = []

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.mail.startswith("250"):
            envelope.mail_from = address
        return self.mail

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.rcpt.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt

    async def handle_DATA(self, server, session, envelope):
        if self.data.startswith("250"):
            self.stored.append((session.peer, envelope.rcpt_tos[0]))
        return self.data


@pytest.fixture
def server():
    handler = Scripted()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


def _env(n: int = 1) -> Envelope:
    return Envelope("b+1.abc@provider.test", f"r{n}@example.com", "<m@x>",
                    b"Subject: x\r\n\r\nhello\r\n")


@pytest.mark.parametrize("step,reply,outcome", [
    ("rcpt", "550 5.1.1 unknown", "bounced"), ("rcpt", "451 4.3.0 later", "retry"),
    ("mail", "553 5.7.1 sender refused", "rejected"), ("mail", "452 4.3.1 full", "retry"),
    ("data", "554 5.7.1 spam", "rejected"), ("data", "452 4.3.1 full", "retry"),
])
def test_given_a_reply_at_a_step_when_sending_then_the_outcome_follows_it(server, step, reply,
                                                                           outcome):
    link = SmtpLink(MailSettings(host="127.0.0.1", port=server.port))
    link.open()
    setattr(server, step, reply)
    result = link.send(_env())
    assert (result.outcome, result.code) == (outcome, int(reply[:3]))
    setattr(server, step, "250 OK")  # the same connection goes on with the next message
    assert link.send(_env(2)).outcome == "sent"
    link.close()


def test_given_many_messages_then_one_connection_carries_them(server):
    link = SmtpLink(MailSettings(host="127.0.0.1", port=server.port))
    link.open()
    assert [link.send(_env(n)).outcome for n in range(5)] == ["sent"] * 5
    assert len({peer for peer, _ in server.stored}) == 1
    link.close()


def test_given_a_421_or_no_server_then_the_link_is_lost_and_nothing_decided(server):
    link = SmtpLink(MailSettings(host="127.0.0.1", port=server.port))
    link.open()
    server.rcpt = "421 4.3.2 shutting down"
    with pytest.raises(LinkLost):
        link.send(_env())
    assert not link.is_open and server.stored == []
    with pytest.raises(LinkLost):
        SmtpLink(MailSettings(host="127.0.0.1", port=free_port())).open()


def test_given_an_address_beyond_ascii_then_that_message_is_rejected_and_the_link_goes_on(server):
    link = SmtpLink(MailSettings(host="127.0.0.1", port=server.port))
    link.open()
    odd = Envelope("b+1.abc@provider.test", "jürgen@example.com", "<m@x>", b"Subject: x\r\n\r\n")
    assert link.send(odd).outcome == "rejected"
    assert link.send(_env(3)).outcome == "sent"
    link.close()
