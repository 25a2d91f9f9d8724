"""The tenant's audio library (issue 17): prompts uploaded (any format sox reads), recorded in
the browser (sent as an ordinary upload) or spoken by TTS in the tenant's language, stored as
the 8 kHz mono WAV Asterisk plays (voxcast.audio.sounds does the conversion, as for campaign
messages), listed with where they are used, counted in the disk quota, deleted only while
nothing that may still play them names them.

Files are <sounds_dir>/prompt-t<tenant>-<token>.wav. A campaign plays a prompt by naming its
sound in message_file (voxcast.campaigns.editing, `prompt_id`), an IVR node by its `sound`
(voxcast.ivr.services checks the tenant owns it, when saved and at call time). A failed upload
or synthesis leaves nothing behind: the work file is converted under a hidden name, checked
(audio present, not too long, within the quota) and only then moved in place and recorded.
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError

from models import Campaign, Did, Tenant, database
from models.entities import Ivr, Prompt
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.audio import prompts as shipped
from voxcast.audio import sounds
from voxcast.config import Settings
from voxcast.errors import ServiceError
from voxcast.i18n import Msg, N_
from voxcast.ivr import tree as ivr_tree
from voxcast.tenants import quotas

MAX_BYTES = 32 * 1024 * 1024  # an upload or a recording
MAX_SECONDS = 600  # ten minutes: a prompt, not a programme
MAX_TEXT = 2000
MAX_NAME = 120
SOURCES = ("upload", "recording", "tts")
# Campaigns in these states will not play again: their prompt may go.
DONE_STATUSES = ("completed", "stopped")


class PromptError(ServiceError):
    """Input that cannot become a prompt; the message says why, in the user's words."""
    code, status = "invalid-prompt", 400
    field = "file"

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field
        if code:
            self.code = code


class PromptTooLarge(PromptError):
    code, status = "prompt-too-large", 413


class PromptNotFound(ServiceError):
    code, status = "no-such-prompt", 404


class PromptInUse(ServiceError):
    code, status = "prompt-in-use", 409


@dataclass(frozen=True)
class Use:
    """Something that plays a prompt: a campaign, an IVR or a DID's greeting."""
    kind: str  # campaign | ivr | did
    id: int
    name: str
    blocking: bool  # may still play it: the prompt cannot be deleted


def sound_name(tenant_id: int) -> str:
    return f"prompt-t{int(tenant_id)}-{uuid.uuid4().hex[:16]}"


def tenant_files(tenant_id: int, sounds_dir: Path) -> list[Path]:
    """The tenant's prompt files (what the disk quota counts and a tenant's deletion removes)."""
    return [sounds_dir / f"{p.sound}.wav"
            for p in scoped(Prompt, tenant_id).select(Prompt.sound)]


def languages() -> tuple[str, ...]:
    """The languages TTS prompts can be spoken in (those our own prompts exist in)."""
    return shipped.languages()


def _name(tenant_id: int, name: str, fallback: str) -> str:
    name = " ".join((name or "").split()) or " ".join((fallback or "").split()) or "prompt"
    name = name[:MAX_NAME]
    if scoped(Prompt, tenant_id).where(Prompt.name == name).exists():
        raise PromptError(Msg(N_("A prompt named %(name)s exists already."), name=name),
                          field="name", code="prompt-name-taken")
    return name


def _store(tenant_id: int, name: str, work: Path, settings: Settings, **fields) -> Prompt:
    """Check the converted `work` file and make it the tenant's prompt `name`; `work` is gone
    afterwards whatever happens."""
    dest = None
    try:
        seconds = sounds.duration_seconds(work)
        if seconds <= 0:
            raise PromptError(N_("The file contains no audio."), code="prompt-empty")
        if seconds > MAX_SECONDS:
            raise PromptError(Msg(N_("A prompt may last at most %(minutes)s minutes."),
                                  minutes=MAX_SECONDS // 60), code="prompt-too-long")
        size = work.stat().st_size
        tenant = Tenant.get_by_id(tenant_id)
        quotas.check(tenant, "disk_mb", size / (1024 * 1024), settings.sounds_dir)
        sound = sound_name(tenant_id)
        dest = settings.sounds_dir / f"{sound}.wav"
        os.replace(work, dest)
        with database.atomic():
            return Prompt.create(tenant=tenant_id, name=name, sound=sound,
                                 seconds=round(seconds, 2), size_bytes=size, **fields)
    except IntegrityError:
        raise PromptError(Msg(N_("A prompt named %(name)s exists already."), name=name),
                          field="name", code="prompt-name-taken") from None
    except BaseException:
        if dest is not None:
            dest.unlink(missing_ok=True)
        raise
    finally:
        work.unlink(missing_ok=True)


def _work_file(settings: Settings) -> Path:
    settings.sounds_dir.mkdir(parents=True, exist_ok=True)
    return settings.sounds_dir / f".prompt-work-{uuid.uuid4().hex}.wav"


def upload(tenant_id: int, name: str, filename: str, data: bytes, settings: Settings,
           source: str = "upload", max_bytes: int = MAX_BYTES) -> Prompt:
    """An uploaded (or recorded) audio file in any format sox reads, converted and stored;
    PromptError or quotas.QuotaExceeded says why not, and then nothing is stored."""
    if source not in ("upload", "recording"):
        raise PromptError(N_("Unknown prompt source."), field="source")
    if not data:
        raise PromptError(N_("The file is empty."), code="prompt-empty")
    if len(data) > max_bytes:
        raise PromptTooLarge(Msg(N_("The file is larger than %(mb)s MB."),
                                 mb=max_bytes // (1024 * 1024)))
    name = _name(tenant_id, name, Path(filename or "").stem
                 or ("Recording" if source == "recording" else ""))
    quotas.check(Tenant.get_by_id(tenant_id), "disk_mb", 0, settings.sounds_dir)
    # sox picks the reader by the file's extension (or its header when there is none): keep
    # a harmless one, never the uploaded name itself
    suffix = Path(filename or "").suffix.lower()
    suffix = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""
    work = _work_file(settings)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"upload{suffix}"
        src.write_bytes(data)
        try:
            sounds.convert_file(src, work)
        except sounds.SoundError as exc:
            work.unlink(missing_ok=True)
            raise PromptError(Msg(N_("This is not an audio file we can read (%(reason)s)."),
                                  reason=str(exc).removeprefix(
                                      "could not convert the audio file: ")),
                              code="invalid-audio") from None
    return _store(tenant_id, name, work, settings, source=source,
                  filename=(filename or "")[:255])


def speak(tenant_id: int, name: str, text: str, settings: Settings,
          language: str | None = None, engine: sounds.TextToSpeech | None = None) -> Prompt:
    """A text spoken by TTS in `language` (default: the tenant's), stored as a prompt."""
    text = (text or "").strip()
    if not text:
        raise PromptError(N_("Enter the text to speak."), field="text")
    if len(text) > MAX_TEXT:
        raise PromptError(Msg(N_("The text may have at most %(n)s characters."), n=MAX_TEXT),
                          field="text")
    tenant = Tenant.get_by_id(tenant_id)
    lang = shipped.normalize(language or tenant.language)
    if language and lang != language.split("_")[0].split("-")[0].lower():
        raise PromptError(Msg(N_("Prompts can be spoken in: %(languages)s."),
                              languages=", ".join(languages())), field="language")
    name = _name(tenant_id, name, text[:60])
    quotas.check(tenant, "disk_mb", 0, settings.sounds_dir)
    work = _work_file(settings)
    try:
        sounds.speak(text, work, shipped.voices().get(lang, "en"), engine)
    except sounds.SoundError as exc:
        work.unlink(missing_ok=True)
        raise PromptError(str(exc), field="text", code="tts-failed") from None
    return _store(tenant_id, name, work, settings, source="tts", text=text, language=lang)


def query(tenant_id: int):
    """The tenant's prompts in name order (a select: the list pages and searches it)."""
    return scoped(Prompt, tenant_id).order_by(Prompt.name, Prompt.id)


SEARCHED = (Prompt.name, Prompt.text, Prompt.filename)  # what the list's search looks in


def prompts(tenant_id: int) -> list[Prompt]:
    return list(query(tenant_id))


def choices(tenant_id: int) -> list[tuple[int, str]]:
    """For pickers (the campaign form): (id, "name (12.3 s)")."""
    return [(p.id, f"{p.name} ({p.seconds} s)") for p in prompts(tenant_id)]


def get(tenant_id: int, prompt_id) -> Prompt:
    try:
        return get_scoped(Prompt, tenant_id, prompt_id)
    except TenantScopeError:
        raise PromptNotFound(N_("No such prompt.")) from None


def by_sound(tenant_id: int, sound: str) -> Prompt | None:
    """The tenant's prompt with this sound name (what a campaign's message_file names)."""
    if not sound or not sound.startswith("prompt-"):
        return None
    return scoped(Prompt, tenant_id).where(Prompt.sound == sound).first()


def audio_path(settings: Settings, prompt: Prompt) -> Path | None:
    path = settings.sounds_dir / f"{prompt.sound}.wav"
    return path if path.is_file() else None


def owned_sounds(tenant_id: int, names) -> set[str]:
    """Which of these sound names are prompts of the tenant's library."""
    names = list(names)
    if not names:
        return set()
    return {s for (s,) in scoped(Prompt, tenant_id).select(Prompt.sound)
            .where(Prompt.sound.in_(names)).tuples()}


def uses(tenant_id: int, items: list[Prompt]) -> dict[int, list[Use]]:
    """Where each prompt is used: the tenant's campaigns whose message it is, IVRs that play
    it in a node, DIDs greeting with it. Three queries whatever the number of prompts."""
    by_sound = {p.sound: p.id for p in items}
    out: dict[int, list[Use]] = {p.id: [] for p in items}
    if not by_sound:
        return out
    for c in (scoped(Campaign, tenant_id)
              .select(Campaign.id, Campaign.name, Campaign.status, Campaign.message_file)
              .where(Campaign.message_file.in_(list(by_sound))).order_by(Campaign.name)):
        out[by_sound[c.message_file]].append(
            Use("campaign", c.id, c.name, c.status not in DONE_STATUSES))
    for row in scoped(Ivr, tenant_id).select(Ivr.id, Ivr.name, Ivr.tree).order_by(Ivr.name):
        try:
            tree = json.loads(row.tree or "{}")
        except ValueError:
            continue
        if not isinstance(tree, dict):
            continue
        for sound in sorted(ivr_tree.sound_names(tree) & set(by_sound)):
            out[by_sound[sound]].append(Use("ivr", row.id, row.name, True))
    for d in (scoped(Did, tenant_id).select(Did.id, Did.number, Did.greeting_file)
              .where(Did.greeting_file.in_(list(by_sound)))):
        out[by_sound[d.greeting_file]].append(Use("did", d.id, d.number, True))
    return out


def delete(tenant_id: int, prompt_id, settings: Settings) -> None:
    prompt = get(tenant_id, prompt_id)
    blocking = [u for u in uses(tenant_id, [prompt])[prompt.id] if u.blocking]
    if blocking:
        raise PromptInUse(Msg(N_("The prompt is in use (%(uses)s); change those first."),
                              uses=", ".join(u.name for u in blocking)))
    prompt.delete_instance()
    (settings.sounds_dir / f"{prompt.sound}.wav").unlink(missing_ok=True)
