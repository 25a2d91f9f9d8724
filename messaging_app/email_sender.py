"""E-mail campaigns over SMTP: `EmailService(settings).run()` in the `voxcast messaging`
process, with the bounce listener (aiosmtpd on 127.0.0.1:Settings.bounce_port) beside it.

SMTP is Python's smtplib, driven step by step (MAIL, RCPT, DATA) in a worker thread
(asyncio.to_thread), one connection reused for every message while there is work: each
step's reply decides the message's outcome, which `sendmail()` or aiosmtplib's `send_message`
would fold into one exception; smtplib is in the standard library and already what
voxcast.mailer uses; one connection sends one message at a time, so a thread costs nothing.

For each message the Dispatcher claimed (queued, with the tenant's hourly cap):
  1. the address is checked against the tenant's e-mail DNC again (an unsubscribe since the
     claim wins);
  2. `submitting` is written before MAIL FROM;
  3. MAIL FROM:<VERP address>, RCPT TO, DATA, and the replies decide:
     - 250 to the end of DATA: sent: `accepted` (charged once at the per-mail rate, the
       Message-ID stored) and `finished(sent)`;
     - RCPT 5xx: `bounced` (hard) and the address on the tenant's e-mail DNC (source bounce);
     - RCPT, MAIL or DATA 4xx: failed with retry (pending again after the campaign's
       retry interval while its retry_failed lasts);
     - MAIL or DATA 5xx: rejected (the server refuses the message itself), no retry;
     - the connection lost, a timeout or 421 before a reply to the end of DATA: the message
       was not taken (SMTP hands responsibility over only with that 250, RFC 5321 §6.1): it
       stays `submitting`, the link is opened again with backoff (1 s doubling to 30 s) and
       the same message is sent again, with the same Message-ID, before anything else. A
       message whose 250 was lost on the wire is the one case that can arrive twice, and its
       Message-ID is the same both times (receivers drop such duplicates).
After a crash, Dispatcher.recover undoes `queued` messages (never handed on) and returns the
`submitting` ones; by the same rule they are rendered again and resent with their Message-ID.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import smtplib
import ssl
import time
from dataclasses import dataclass

from models import Campaign, CampaignContact, Contact, Tenant, database
from models.entities import Message, utcnow
from voxcast.campaigns import lifecycle
from voxcast.campaigns.lifecycle import Cause
from voxcast.config import Settings, read_or_create_secret
from voxcast.mailer import MailSettings
from voxcast.messaging.dispatch import CONTACT_FIELDS, Dispatcher, Outgoing, RenderError
from voxcast.messaging.email import dnc as email_dnc
from voxcast.messaging.email.bounces import BounceProcessor
from voxcast.messaging.email.building import Envelope, MailBuilder, provider_bounce_address
from voxcast.messaging.email.tokens import Signer

log = logging.getLogger("voxcast.messaging.email")
BATCH = 20  # messages claimed at once
IDLE_CLOSE_S = 15.0  # the SMTP connection is closed after this long without work
BACKOFF_S = (1, 2, 4, 8, 16, 30)
RATE_CODE = "email_rate"  # the campaign's status_code while the tenant's hourly limit is used up
BOUNCE_MAX_BYTES = 10 * 1024 * 1024  # a DSN returns headers, at most the whole message


class LinkLost(Exception):
    """The SMTP connection failed, closed or timed out: nothing was decided."""


@dataclass(frozen=True)
class SendResult:
    outcome: str  # sent | bounced | retry | rejected
    code: int
    reply: str

    @property
    def text(self) -> str:
        return f"{self.code} {self.reply}".strip()[:250]


def _reply(raw) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw or "")


class SmtpLink:
    """One SMTP connection to the provider's server, used from one thread at a time."""

    def __init__(self, mail: MailSettings, timeout: float = 30.0):
        self.mail = mail
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    @property
    def is_open(self) -> bool:
        return self.smtp is not None

    def open(self) -> None:
        if self.smtp is not None:
            return
        try:
            smtp = smtplib.SMTP(self.mail.host, self.mail.port, timeout=self.timeout)
            smtp.ehlo()
            if self.mail.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.mail.user:
                smtp.login(self.mail.user, self.mail.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise LinkLost(f"cannot connect to {self.mail.host}:{self.mail.port}: {exc}") from exc
        self.smtp = smtp

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def send(self, envelope: Envelope) -> SendResult:
        """One transaction; raises LinkLost when no decision could be read."""
        smtp = self.smtp
        assert smtp is not None
        try:
            code, reply = smtp.mail(envelope.sender)
            self._lost_on_421(code, reply)
            if code >= 400:
                self._rset()
                return SendResult("retry" if code < 500 else "rejected", code, _reply(reply))
            code, reply = smtp.rcpt(envelope.recipient)
            self._lost_on_421(code, reply)
            if code >= 400:
                self._rset()
                return SendResult("retry" if code < 500 else "bounced", code, _reply(reply))
            try:
                code, reply = smtp.data(envelope.data)
            except smtplib.SMTPDataError as exc:  # DATA itself refused (not 354)
                code, reply = exc.smtp_code, exc.smtp_error
                self._lost_on_421(code, reply)
                self._rset()
                return SendResult("retry" if code < 500 else "rejected", code, _reply(reply))
            self._lost_on_421(code, reply)
            if code == 250:
                return SendResult("sent", code, _reply(reply))
            return SendResult("retry" if code < 500 else "rejected", code, _reply(reply))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.smtp = None
            try:
                smtp.close()
            except OSError:
                pass
            raise LinkLost(f"{type(exc).__name__}: {exc}") from exc
        except (UnicodeEncodeError, smtplib.SMTPException) as exc:
            # not sendable as it is (an address beyond ASCII: no SMTPUTF8 here): this message
            # fails, the connection goes on
            self._rset()
            return SendResult("rejected", 553, f"cannot be sent: {type(exc).__name__}: {exc}")

    def _lost_on_421(self, code: int, reply) -> None:
        if code == 421 or code == -1:  # the server is closing the connection
            raise smtplib.SMTPServerDisconnected(f"{code} {_reply(reply)}")

    def _rset(self) -> None:
        """End a refused transaction; the reply already decided the message, so a link that
        breaks here is only closed (the next message opens a new one)."""
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            smtp, self.smtp = self.smtp, None
            try:
                smtp.close()
            except OSError:
                pass


class _BounceHandler:
    """aiosmtpd handler of the bounce listener: every mail is handed to BounceProcessor."""

    def __init__(self, processor: BounceProcessor):
        self.processor = processor

    async def handle_DATA(self, server, session, envelope):
        try:
            done = await asyncio.to_thread(self.processor.handle, list(envelope.rcpt_tos),
                                           envelope.original_content or envelope.content)
        except Exception:
            log.exception("bounce for %s could not be processed", envelope.rcpt_tos)
            return "451 4.3.0 Bounce not processed, try again later"
        log.info("bounce to %s: %s", ", ".join(envelope.rcpt_tos), done)
        return "250 OK"


class EmailService:
    def __init__(self, settings: Settings, mail: MailSettings | None = None, env=None,
                 dispatcher: Dispatcher | None = None, link: SmtpLink | None = None,
                 clock=utcnow):
        env = os.environ if env is None else env
        self.settings = settings
        self.mail = mail or MailSettings.from_env(env)
        self.signer = Signer(read_or_create_secret(settings.secret_key_file))
        base_url = self.mail.base_url or f"http://127.0.0.1:{settings.web_port}"
        if not self.mail.base_url:
            log.warning("VOXCAST_BASE_URL is not set: unsubscribe links point at %s, which "
                        "recipients cannot open", base_url)
        self.builder = MailBuilder(self.signer, self.mail,
                                   provider_bounce_address(self.mail, env), base_url)
        self.dispatcher = dispatcher or Dispatcher("email", self.builder.render)
        self.link = link or SmtpLink(self.mail)
        self.bounces = BounceProcessor(self.signer)
        self.clock = clock
        self.poll_s = float(env.get("VOXCAST_EMAIL_POLL_S", "1") or 1)
        self.queue: list[Outgoing] = []  # claimed, in order; the head is in flight

    # -- the process ---------------------------------------------------------------------------
    async def run(self) -> None:
        server = await self._listen()
        try:
            await self._send_loop()
        finally:
            if server is not None:
                server.close()
            await asyncio.to_thread(self.link.close)

    async def _listen(self):
        from aiosmtpd.smtp import SMTP
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: SMTP(_BounceHandler(self.bounces), hostname="voxcast-bounces",
                             ident="voxcast bounce listener",
                             data_size_limit=BOUNCE_MAX_BYTES),
                "127.0.0.1", self.settings.bounce_port)
        except OSError:
            log.exception("bounce listener cannot listen on 127.0.0.1:%s; sending without it",
                          self.settings.bounce_port)
            return None
        log.info("bounce listener on 127.0.0.1:%s", self.settings.bounce_port)
        return server

    async def _send_loop(self) -> None:
        # A run started again after a failure begins from the database, not from the last
        # run's memory: what it had claimed is `queued` (undone) or `submitting` (resent).
        self.queue = []
        recovered = await asyncio.to_thread(self.dispatcher.recover)
        if recovered:
            self.queue.extend(await asyncio.to_thread(self._rebuild, recovered))
            log.info("%d e-mail(s) left submitting by the last run are sent again",
                     len(self.queue))
        failures = 0
        idle_since = time.monotonic()
        while True:
            if not self.queue:
                for campaign_id in await asyncio.to_thread(self.dispatcher.resume_affordable):
                    log.info("e-mail campaign %s resumed: its tenant's credit covers it again",
                             campaign_id)
                self.queue.extend(await asyncio.to_thread(
                    self.dispatcher.claim, BATCH, self.per_tenant))
            if not self.queue:
                if self.link.is_open and time.monotonic() - idle_since > IDLE_CLOSE_S:
                    await asyncio.to_thread(self.link.close)
                await asyncio.sleep(self.poll_s)
                continue
            try:
                await asyncio.to_thread(self.send_one, self.queue[0])
            except LinkLost as exc:
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("SMTP link lost (%s): message %d is sent again in %ss",
                            exc, self.queue[0].message_id, delay)
                await asyncio.sleep(delay)
                continue
            self.queue.pop(0)
            failures = 0
            idle_since = time.monotonic()

    # -- one message (in a worker thread) ------------------------------------------------------
    def per_tenant(self, tenant_id: int) -> int:
        """How many more e-mails the tenant may send this hour: its email_per_hour minus the
        mails sent in the last hour and those claimed but not yet answered."""
        tenant = Tenant.get_by_id(tenant_id)
        hour_ago = self.clock() - dt.timedelta(hours=1)
        used = (Message.select()
                .where(Message.tenant == tenant_id, Message.channel == "email",
                       Message.direction == "outbound",
                       (Message.submitted_at >= hour_ago)
                       | Message.state.in_(("queued", "submitting")))
                .count())
        left = max(0, tenant.email_per_hour - used)
        if left == 0:  # said on the tenant's running e-mail campaigns until the hour moves on
            cause = Cause(RATE_CODE, {"limit": tenant.email_per_hour, "text": (
                f"Waiting: the hourly e-mail limit ({tenant.email_per_hour}) is reached")})
            for (campaign_id,) in (Campaign.select(Campaign.id)
                                   .where(Campaign.tenant == tenant_id, Campaign.type == "email",
                                          Campaign.status == "running").tuples()):
                lifecycle.note(campaign_id, cause)
        return left

    def send_one(self, out: Outgoing) -> str:
        if email_dnc.is_blocked(out.tenant_id, out.address):
            self.dispatcher.finished(out.message_id, "rejected",
                                     "on the e-mail do-not-contact list")
            return "dnc"
        campaign = Campaign.get_or_none(Campaign.id == out.campaign_id)
        if (campaign is None or campaign.status != "running") and _withdraw(out):
            log.info("message %d to %s not sent: its campaign is %s", out.message_id,
                     out.address, campaign.status if campaign else "gone")
            return "withdrawn"
        try:
            envelope = self.builder.build(out, campaign.bounce_address if campaign else "")
        except (ValueError, TypeError, IndexError, UnicodeError) as exc:  # e.g. a bad From
            self.dispatcher.finished(out.message_id, "failed",
                                     f"the message cannot be built: {exc}")
            log.warning("message %d cannot be built: %s", out.message_id, exc)
            return "failed"
        self.link.open()  # LinkLost: still queued, nothing handed on
        self.dispatcher.submitting(out.message_id)
        result = self.link.send(envelope)  # LinkLost: stays submitting, sent again
        self._record(out, envelope, result)
        return result.outcome

    def _record(self, out: Outgoing, envelope: Envelope, result: SendResult) -> None:
        if result.outcome == "sent":
            self.dispatcher.accepted(out.message_id, external_id=envelope.message_id)
            self.dispatcher.finished(out.message_id, "sent")
            log.info("message %d to %s sent (%s)", out.message_id, out.address, result.text)
        elif result.outcome == "bounced":
            self.dispatcher.finished(out.message_id, "bounced", result.text)
            email_dnc.add(out.tenant_id, [out.address], "bounce",
                          detail=f"refused by the SMTP server: {result.text}")
            log.info("message %d to %s bounced (%s)", out.message_id, out.address, result.text)
        elif result.outcome == "retry":
            self.dispatcher.finished(out.message_id, "failed", result.text, retry=True)
            log.info("message %d to %s deferred (%s)", out.message_id, out.address, result.text)
        else:
            self.dispatcher.finished(out.message_id, "rejected", result.text)
            log.info("message %d to %s rejected (%s)", out.message_id, out.address, result.text)

    def _rebuild(self, message_ids: list[int]) -> list[Outgoing]:
        """Messages left `submitting` by a crash, made again to be resent (same Message-ID)."""
        out = []
        for message in Message.select().where(Message.id.in_(message_ids)).order_by(Message.id):
            contact = Contact.get_or_none(Contact.id == message.contact_id)
            campaign = Campaign.get_or_none(Campaign.id == message.campaign_id)
            if contact is None or campaign is None:
                self.dispatcher.finished(message.id, "failed",
                                         "contact or campaign removed before it was resent")
                continue
            fields = {name: getattr(contact, name, "") or "" for name in CONTACT_FIELDS}
            try:
                rendered = self.builder.render(campaign, fields)
            except RenderError as exc:
                self.dispatcher.finished(message.id, "failed", str(exc))
                continue
            out.append(Outgoing(message.id, message.tenant_id, campaign.id, message.entry_id,
                                contact.id, "email", message.address, message.sender,
                                rendered, message.attempts, None))
        return out


def _withdraw(out: Outgoing) -> bool:
    """A claimed message of a campaign paused or stopped since, never handed on (queued):
    gone as if never claimed, its contact due again when the campaign resumes. False when it
    was handed on already (left submitting by a crash: sent again as it may have arrived)."""
    with database.atomic():
        gone = Message.delete().where(Message.id == out.message_id,
                                      Message.state == "queued").execute()
        if gone and out.entry_id:
            (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
             .where(CampaignContact.id == out.entry_id, CampaignContact.state == "dialing")
             .execute())
    return bool(gone)
