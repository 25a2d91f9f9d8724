"""Outgoing e-mail over SMTP (smtplib), configured from the environment.

A send that fails raises MailError with a reason fit to show the admin; callers decide what
to keep (a tenant stays created when its welcome mail cannot be sent)."""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

log = logging.getLogger("voxcast.mailer")


class MailError(Exception):
    """The message could not be handed to the SMTP server; str(error) says why."""


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "voxcast@localhost"
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 15.0
    base_url: str = ""  # the provider's UI, e.g. https://voxcast.example.com
    base_domain: str = ""  # tenants log in at <slug>.<base_domain> when set

    @classmethod
    def from_env(cls, env=None) -> "MailSettings":
        env = os.environ if env is None else env
        base_domain = env.get("VOXCAST_BASE_DOMAIN", "").strip().lower().strip(".")
        return cls(
            host=env.get("VOXCAST_SMTP_HOST", "127.0.0.1"),
            port=int(env.get("VOXCAST_SMTP_PORT", "25")),
            sender=env.get("VOXCAST_SMTP_FROM", "")
            or f"voxcast@{base_domain or 'localhost'}",
            user=env.get("VOXCAST_SMTP_USER", ""),
            password=env.get("VOXCAST_SMTP_PASSWORD", ""),
            starttls=_flag(env.get("VOXCAST_SMTP_STARTTLS", "")),
            base_url=env.get("VOXCAST_BASE_URL", "").rstrip("/"),
            base_domain=base_domain,
        )


def tenant_base_url(settings: MailSettings, slug: str, fallback_url: str = "") -> str:
    """Where a tenant's users open the UI: their sub-domain when a base domain is configured
    (keeping the scheme and port of VOXCAST_BASE_URL), else the provider's URL."""
    base = (settings.base_url or fallback_url).rstrip("/")
    if not settings.base_domain:
        return base
    parts = urlsplit(base or f"http://{settings.base_domain}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{slug}.{settings.base_domain}{port}"


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str = "application/octet-stream"  # "maintype/subtype"


def send(settings: MailSettings, to: str, subject: str, body: str,
         attachments: tuple[Attachment, ...] = ()) -> None:
    """Send one plain-text message (with files attached, e.g. a voicemail's recording);
    raises MailError (and logs) when the server refuses it or cannot be reached."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    for item in attachments:
        maintype, _sep, subtype = item.mime.partition("/")
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=item.filename)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log.error("mail to %s via %s:%s failed: %s", to, settings.host, settings.port, reason)
        raise MailError(f"sending to {to} via {settings.host}:{settings.port} failed "
                        f"({reason})") from exc
    log.info("mail to %s sent: %s", to, subject)


def credentials_message(tenant_name: str, username: str, password: str,
                        login_url: str) -> tuple[str, str]:
    subject = f"Your voxcast account for {tenant_name}"
    body = (f"Hello,\n\nan account has been created for {tenant_name}.\n\n"
            f"Log in at: {login_url}\nUsername: {username}\nPassword: {password}\n\n"
            "Please change the password after your first login.\n")
    return subject, body


def activation_message(tenant_name: str, username: str, link: str,
                       hours: int) -> tuple[str, str]:
    subject = f"Activate your voxcast account for {tenant_name}"
    body = (f"Hello,\n\nan account has been created for {tenant_name}.\n"
            f"Your username is: {username}\n\n"
            f"Open this link to choose your password and activate the account:\n{link}\n\n"
            f"The link is valid for {hours} hours.\n")
    return subject, body


def voicemail_message(caller: str, called: str, seconds: float, at_local: str) -> tuple[str, str]:
    """A voicemail's e-mail: who called which number when, and how long the message is (the
    recording is attached)."""
    who = caller or "an unknown number"
    subject = f"Voicemail from {who} ({seconds:.0f} s)"
    body = (f"Hello,\n\n{who} called {called} on {at_local} and left a message of "
            f"{seconds:.0f} seconds.\nThe recording is attached.\n")
    return subject, body
