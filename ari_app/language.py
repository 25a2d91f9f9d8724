"""The language a call is played in: the tenant's (Tenant.language), as Asterisk's
CHANNEL(language), so our prompts (`sound:vx-hold`, voxcast.audio.prompts) and numbers
(`number:3`) play in it, and the voice that speaks the tenant's texts (sounds.voice_for).

Every channel starts in Asterisk's default language, English (our endpoints set none), so
English costs no request; another language is one REST call per channel, or none when the
channel is originated with `variables(lang)`.

    lang = await language.for_tenant(ctx, tenant_id)      # cached, from the writer thread
    await language.set_language(ctx, channel_id, lang)    # on an answered / entering channel
    await ctx.ari.originate(..., variables=language.variables(lang))  # a leg we place
    voice = sounds.voice_for(lang)                        # TTS of the tenant's texts
"""
from __future__ import annotations

import asyncio

from voxcast.audio import prompts

DEFAULT = prompts.DEFAULT_LANGUAGE
CACHE_SECONDS = 30.0  # a tenant's new language reaches calls that start after this


def normalize(lang: str | None) -> str:
    """A prompt language we have ("de_DE" -> "de"; unknown -> "en")."""
    return prompts.normalize(lang)


def variables(lang: str | None) -> dict[str, str]:
    """Channel variables for an originate: the new channel starts in `lang`."""
    lang = normalize(lang)
    return {} if lang == DEFAULT else {"CHANNEL(language)": lang}


async def set_language(ctx, channel_id: str, lang: str | None) -> str:
    """Make the channel's prompts and numbers play in `lang` (normalized; returned)."""
    lang = normalize(lang)
    if lang != DEFAULT:
        await ctx.ari.post(f"/channels/{channel_id}/variable", variable="CHANNEL(language)",
                           value=lang)
    return lang


def _tenant_language(tenant_id: int) -> str:
    from models import Tenant
    row = Tenant.select(Tenant.language).where(Tenant.id == tenant_id).first()
    return row.language if row else DEFAULT


class TenantLanguages:
    """tenant id -> its prompt language, read on the writer thread and kept CACHE_SECONDS,
    so a busy tenant's calls cost no database job for it."""

    def __init__(self):
        self._known: dict[int, tuple[str, float]] = {}

    async def get(self, ctx, tenant_id: int | None) -> str:
        if tenant_id is None:
            return DEFAULT
        now = asyncio.get_running_loop().time()
        hit = self._known.get(tenant_id)
        if hit is not None and now - hit[1] < CACHE_SECONDS:
            return hit[0]
        lang = normalize(await ctx.writer.run(_tenant_language, tenant_id))
        self._known[tenant_id] = (lang, now)
        return lang

    def forget(self, tenant_id: int | None = None) -> None:
        if tenant_id is None:
            self._known.clear()
        else:
            self._known.pop(tenant_id, None)


async def for_tenant(ctx, tenant_id: int | None) -> str:
    """The tenant's prompt language (ctx.languages caches it; a context built without one,
    as some tests build theirs, reads it each time)."""
    cache = getattr(ctx, "languages", None)
    if cache is not None:
        return await cache.get(ctx, tenant_id)
    if tenant_id is None:
        return DEFAULT
    return normalize(await ctx.writer.run(_tenant_language, tenant_id))


async def apply(handler, tenant_id: int | None = None) -> str:
    """The flows' one line at a call's entry: the tenant's language on the handler's channel
    and on the handler (`handler.language`, which the IVR runner's TTS voice follows)."""
    tid = tenant_id if tenant_id is not None else getattr(handler, "tenant_id", None)
    lang = await for_tenant(handler.ctx, tid)
    handler.language = await set_language(handler.ctx, handler.channel_id, lang)
    return handler.language


# -- announcements: ARI media lists (one playback, one PlaybackFinished), in the channel's
# language because each item is looked up in it ---------------------------------------------

def position_media(position: int) -> str:
    """"You are caller number" + the number."""
    return f"sound:vx-queue-position,number:{max(1, int(position))}"


def wait_media(minutes: float) -> str:
    """"Your expected wait is about" + N "minutes" ("one minute" up to 1.5 minutes, so German
    says "eine Minute", not "eins Minuten")."""
    whole = max(1, round(minutes))
    if whole <= 1:
        return "sound:vx-queue-wait,sound:vx-one-minute"
    return f"sound:vx-queue-wait,number:{whole},sound:vx-minutes"
