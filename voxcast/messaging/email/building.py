"""One campaign e-mail, from the rendered parts to the bytes handed to SMTP.

- From: the campaign's email_from, else the provider's sender (VOXCAST_SMTP_FROM).
- Envelope sender (what the receiving MTA writes as Return-Path): a VERP address at the
  campaign's bounce_address domain, else the provider's bounce address
  (VOXCAST_BOUNCE_ADDRESS, else bounce@<sender's domain>): bounce+<message id>.<mac>@domain,
  so a bounce names its message even when the DSN is unreadable. No Return-Path header is
  written: the final MTA adds it (RFC 5321 4.4).
- Message-ID: <vx<message id>.<mac>@<From's domain>>, the same on every attempt of the
  message (a resend after a lost connection can be recognised by the receiver); stored as
  Message.external_id.
- List-Unsubscribe: <https://.../u/<token>>, <mailto:bounce+u<id>.<mac>@domain> and
  List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058); the link is in both parts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr

from voxcast.mailer import MailSettings
from voxcast.messaging.dispatch import Outgoing, Rendered, RenderError

from . import templates
from .tokens import Signer


def provider_bounce_address(mail: MailSettings, env=None) -> str:
    env = os.environ if env is None else env
    configured = env.get("VOXCAST_BOUNCE_ADDRESS", "").strip()
    if configured:
        return configured
    domain = parseaddr(mail.sender)[1].rpartition("@")[2] or "localhost"
    return f"bounce@{domain}"


@dataclass(frozen=True)
class Envelope:
    sender: str  # MAIL FROM: the VERP address
    recipient: str  # RCPT TO
    message_id: str  # the Message-ID header, with its <>
    data: bytes  # the message as sent (CRLF line ends)


class MailBuilder:
    def __init__(self, signer: Signer, mail: MailSettings, bounce_address: str,
                 base_url: str):
        self.signer = signer
        self.mail = mail
        self.bounce_address = bounce_address
        self.base_url = base_url.rstrip("/")

    def unsubscribe_url(self, tenant_id: int, address: str, campaign_id: int | None) -> str:
        return f"{self.base_url}/u/{self.signer.unsubscribe_token(tenant_id, address, campaign_id)}"

    def render(self, campaign, fields: dict) -> Rendered:
        """The Dispatcher's render: the three parts for one contact, its unsubscribe link in
        them; a template the sandbox refuses fails the contact (RenderError) with the reason."""
        address = (fields.get("email") or "").strip().lower()
        link = self.unsubscribe_url(campaign.tenant_id, address, campaign.id) if address else ""
        try:
            mail = templates.render(campaign.email_subject, campaign.email_html,
                                    campaign.email_text, {**fields, templates.UNSUBSCRIBE_VAR: link})
        except templates.TemplateProblem as exc:
            raise RenderError(str(exc)) from None
        return Rendered(body=mail.text, subject=mail.subject, html=mail.html)

    def from_address(self, campaign_from: str) -> str:
        return (campaign_from or "").strip() or self.mail.sender

    def bounce_for(self, campaign_bounce: str) -> str:
        return (campaign_bounce or "").strip() or self.bounce_address

    def message_id(self, message_id: int, from_address: str) -> str:
        domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
        return f"<vx{message_id}.{self.signer.mac(message_id, 'm')}@{domain}>"

    def build(self, out: Outgoing, campaign_bounce: str = "") -> Envelope:
        rendered = out.rendered
        sender = self.from_address(out.sender)
        bounce = self.bounce_for(campaign_bounce)
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = Address(addr_spec=out.address) if _plain(out.address) else out.address
        msg["Subject"] = rendered.subject
        msg["Date"] = formatdate(localtime=False)
        message_id = self.message_id(out.message_id, sender)
        msg["Message-ID"] = message_id
        link = self.unsubscribe_url(out.tenant_id, out.address, out.campaign_id)
        mailto = self.signer.verp(out.message_id, bounce, kind="u")
        msg["List-Unsubscribe"] = f"<{link}>, <mailto:{mailto}?subject=unsubscribe>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a mailing
        msg.set_content(rendered.body, cte="quoted-printable")
        if rendered.html:
            msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
        return Envelope(self.signer.verp(out.message_id, bounce), out.address, message_id,
                        msg.as_bytes(policy=SMTP))


def _plain(address: str) -> bool:
    try:
        Address(addr_spec=address)
        return True
    except (ValueError, IndexError):
        return False
