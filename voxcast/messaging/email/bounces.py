"""Bounces: delivery status notifications (RFC 3464) that the provider's MTA forwards to the
messaging service's bounce listener, and mails to a message's List-Unsubscribe mailto.

Which message a bounce is about: the VERP envelope recipient (bounce+<id>.<mac>@domain,
checked with the instance secret), else the Message-ID in the returned headers (our
Message.external_id). What it means: per recipient block of the message/delivery-status part,
`Action: failed` with a `Status: 5.x.x` is a hard bounce: the message becomes `bounced`, its
contact's result too, and the address goes on the tenant's e-mail DNC (source bounce), so no
campaign writes to it again. A 4.x.x status (or `Action: delayed`) is a soft bounce: noted on
the message, nothing stops. A bounce without a DSN part (old MTAs) is hard when its text
carries a 5.x.x enhanced status code. The sent mail stays charged: it was sent. No Flask."""
from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field

from peewee import fn

from models import CampaignContact, database
from models.entities import Message

from . import dnc as email_dnc
from .tokens import Signer

log = logging.getLogger("voxcast.messaging.email.bounces")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class DsnRecipient:
    recipient: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def kind(self) -> str:
        """hard | soft | "" (delivered, relayed, expanded: not a bounce)."""
        if self.action == "failed" and self.status.startswith("5"):
            return "hard"
        if self.action in ("failed", "delayed") and (self.status.startswith("4")
                                                     or self.action == "delayed"):
            return "soft"
        if self.action == "failed":  # no usable status: a failure all the same
            return "hard"
        return ""


@dataclass(frozen=True)
class Report:
    recipients: list[DsnRecipient] = field(default_factory=list)
    original_message_id: str = ""
    is_dsn: bool = False
    text_status: str = ""  # an enhanced status code found in a non-DSN bounce's text


def _value(raw: str | None) -> str:
    """'rfc822; a@b.test' -> 'a@b.test'."""
    value = str(raw or "").strip()
    return value.split(";", 1)[1].strip() if ";" in value else value


def parse(raw: bytes) -> Report:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    recipients: list[DsnRecipient] = []
    original = ""
    is_dsn = False
    texts: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            is_dsn = True
            blocks = part.get_payload()
            for block in blocks[1:] if isinstance(blocks, list) else []:
                status = str(block.get("Status", "")).strip()
                match = _STATUS.search(status)
                recipients.append(DsnRecipient(
                    recipient=_value(block.get("Final-Recipient")
                                     or block.get("Original-Recipient")).lower(),
                    action=str(block.get("Action", "")).strip().lower(),
                    status=match.group(0) if match else status,
                    diagnostic=_value(block.get("Diagnostic-Code"))[:200]))
        elif ctype == "text/rfc822-headers" and not original:
            headers = email.message_from_string(part.get_content(), policy=email.policy.default)
            original = str(headers.get("Message-ID", "") or "").strip()
        elif ctype == "message/rfc822" and not original:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if hasattr(inner, "get"):
                original = str(inner.get("Message-ID", "") or "").strip()
        elif ctype == "text/plain" and not is_dsn:
            try:
                texts.append(part.get_content())
            except (LookupError, ValueError):
                pass
    match = _STATUS.search("\n".join(texts)) if not is_dsn else None
    return Report(recipients, original, is_dsn, match.group(0) if match else "")


class BounceProcessor:
    def __init__(self, signer: Signer):
        self.signer = signer

    def handle(self, rcpt_tos: list[str], raw: bytes) -> str:
        """What the listener received: returns what was done, for the log."""
        done = []
        named: list[tuple[str, int]] = [ref for ref in map(self.signer.read_verp, rcpt_tos) if ref]
        for kind, message_id in named:
            if kind == "u":
                done.append(self._unsubscribe(message_id))
        bounce_ids = [mid for kind, mid in named if kind == ""]
        if not bounce_ids and not any(kind == "u" for kind, _ in named):
            report = parse(raw)
            message = _by_external_id(report.original_message_id)
            if message is None:
                log.info("bounce for %s not matched to a message", rcpt_tos)
                return "unmatched"
            return self._bounce(message, report)
        if bounce_ids:
            report = parse(raw)
            for message_id in bounce_ids:
                message = Message.get_or_none(Message.id == message_id, Message.channel == "email")
                done.append(self._bounce(message, report) if message else "unknown message")
        return "; ".join(done) or "nothing"

    def _unsubscribe(self, message_id: int) -> str:
        message = Message.get_or_none(Message.id == message_id, Message.channel == "email")
        if message is None:
            return "unknown message"
        email_dnc.add(message.tenant_id, [message.address], "unsubscribe",
                      detail=f"by mail to the List-Unsubscribe address of message {message.id}")
        return f"unsubscribed {message.address}"

    def _bounce(self, message: Message, report: Report) -> str:
        record = next((r for r in report.recipients if r.recipient == message.address), None)
        if record is None and report.recipients:
            record = report.recipients[0]
        if record is not None:
            kind, status, diagnostic = record.kind, record.status, record.diagnostic
        elif report.text_status:
            kind = "hard" if report.text_status.startswith("5") else "soft"
            status, diagnostic = report.text_status, ""
        else:
            kind, status, diagnostic = "soft", "", "a bounce without a status"
        why = " ".join(x for x in (status, diagnostic) if x)[:200]
        if kind == "hard":
            hard_bounce(message, why)
            return f"hard bounce of message {message.id} ({why})"
        if kind == "soft":
            Message.update(error=f"soft bounce: {why}"[:250]).where(Message.id == message.id).execute()
            return f"soft bounce of message {message.id} ({why})"
        return f"no bounce for message {message.id} ({record.action if record else ''})"


def hard_bounce(message: Message, why: str) -> None:
    """The address does not take mail: the message and its contact say so, and the address
    goes on the tenant's e-mail DNC list."""
    with database.atomic():
        Message.update(state="bounced", error=f"bounced: {why}"[:250]).where(
            Message.id == message.id).execute()
        if message.entry_id:
            latest = Message.select(fn.MAX(Message.id)).where(
                Message.entry == message.entry_id).scalar()
            if latest == message.id:
                (CampaignContact.update(state="failed", result="bounced",
                                        last_disposition=f"bounced: {why}"[:250])
                 .where(CampaignContact.id == message.entry_id,
                        CampaignContact.state.in_(("done", "dialing", "failed"))).execute())
        email_dnc.add(message.tenant_id, [message.address], "bounce",
                      detail=f"message {message.id}: {why}")


def _by_external_id(message_id: str) -> Message | None:
    if not message_id:
        return None
    return Message.get_or_none(Message.external_id == message_id, Message.channel == "email")
