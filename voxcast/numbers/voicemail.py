"""A voicemail's database part (run on the Stasis app's writer thread) and its e-mail (run on
a worker thread: an SMTP server that is slow or down must hold up neither the event loop nor
the writer)."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from models import Call, Tenant
from voxcast import mailer
from voxcast.audio import sounds

log = logging.getLogger("voxcast.voicemail")


def saved(tenant_id: int, call_id: int | None, file_name: str, now_utc: dt.datetime) -> str:
    """Keep the recording on the call's CDR (listened to from the call records) and return
    when it was left, in the tenant's time zone, for the e-mail."""
    if call_id is not None:
        Call.update(recording=file_name).where(Call.id == call_id,
                                               Call.tenant == tenant_id).execute()
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    zone = ZoneInfo((tenant.timezone if tenant else "") or "UTC")
    local = now_utc.replace(tzinfo=dt.timezone.utc).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M %Z")


def send(to: str, path: Path, caller: str, called: str, at_local: str) -> bool:
    """E-mail the recording as a WAV attachment; False (logged) when the server refused it."""
    seconds = sounds.duration_seconds(path)
    subject, body = mailer.voicemail_message(caller, called, seconds, at_local)
    attachment = mailer.Attachment(f"voicemail-{path.stem}.wav", path.read_bytes(), "audio/wav")
    try:
        mailer.send(mailer.MailSettings.from_env(), to, subject, body, (attachment,))
    except mailer.MailError as exc:
        log.error("voicemail %s not delivered: %s", path.name, exc)
        return False
    return True
