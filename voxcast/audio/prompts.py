"""The platform's shipped prompts: sources in sounds/prompts.toml (a text per prompt and
language, German number words), rendered by the TTS engine into Asterisk's sounds directory
per language at `voxcast asterisk provision`.

Asterisk looks a relative sound name up as `<astdatadir>/sounds/<lang>/<name>`, falling back
to English: so `sound:vx-hold` (ARI), `Playback(vx-hold)` and `STREAM FILE vx-hold` (AGI)
play in the channel's CHANNEL(language), and `number:21` is said with the German words for a
German channel. Our files carry the `vx-` prefix, so they never clash with Asterisk's own;
German digits go to `de/digits/`, where Asterisk ships none.

A file is rendered again only when its text, voice or engine changed (a manifest of hashes
beside the files), so provisioning is instant after the first time. Files are written
atomically: every instance sharing one Asterisk filesystem renders the same sources.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from typing import Callable
from pathlib import Path, PurePosixPath

from voxcast.config import PROJECT_ROOT

log = logging.getLogger("voxcast.prompts")

PROMPTS_FILE = PROJECT_ROOT / "sounds" / "prompts.toml"
MANIFEST = ".voxcast-prompts.json"
DEFAULT_LANGUAGE = "en"  # Asterisk's own default language, and the one every prompt has
RENDER_VERSION = "1"  # bump to render every prompt again (a change of format or speed)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$", re.I)
_LANG = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")


class PromptSourceError(ValueError):
    """sounds/prompts.toml is inconsistent (a language without a voice, a missing prompt)."""


@dataclass(frozen=True)
class Prompt:
    lang: str
    name: str  # relative to the language directory, no extension: "vx-hold", "digits/21"
    text: str
    voice: str

    def digest(self, engine: str) -> str:
        return hashlib.sha1(f"{RENDER_VERSION}\0{engine}\0{self.voice}\0{self.text}"
                            .encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _load(path: Path = PROMPTS_FILE) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def voices(path: Path = PROMPTS_FILE) -> dict[str, str]:
    """TTS voice per language ({"en": "en", "de": "de"})."""
    return dict(_load(path).get("voices", {}))


def languages(path: Path = PROMPTS_FILE) -> tuple[str, ...]:
    """The languages our prompts exist in, the default first."""
    langs = sorted(_load(path).get("prompts", {}), key=lambda l: (l != DEFAULT_LANGUAGE, l))
    return tuple(langs)


def normalize(lang: str | None, path: Path = PROMPTS_FILE) -> str:
    """A tenant's language as a prompt language: "de", "de_DE", "de-AT" -> "de"; anything
    we have no prompts for -> the default (so a caller hears English, never silence)."""
    code = (lang or "").strip().replace("-", "_")
    known = languages(path)
    if code in known:
        return code
    base = code.split("_", 1)[0].lower()
    return base if base in known else DEFAULT_LANGUAGE


def names(path: Path = PROMPTS_FILE) -> tuple[str, ...]:
    """The prompt names (vx-...), as in the default language."""
    return tuple(_load(path)["prompts"][DEFAULT_LANGUAGE])


def catalogue(path: Path = PROMPTS_FILE) -> list[Prompt]:
    """Every file to render, checked: each language has a voice and every default prompt."""
    data = _load(path)
    voice_of = data.get("voices", {})
    prompts = data.get("prompts", {})
    if DEFAULT_LANGUAGE not in prompts:
        raise PromptSourceError(f"no [prompts.{DEFAULT_LANGUAGE}] table")
    wanted = set(prompts[DEFAULT_LANGUAGE])
    out: list[Prompt] = []
    for lang, table in prompts.items():
        if not _LANG.match(lang) or lang not in voice_of:
            raise PromptSourceError(f"language {lang!r} has no voice in [voices]")
        missing = wanted - set(table)
        if missing:
            raise PromptSourceError(f"[prompts.{lang}] lacks {', '.join(sorted(missing))}")
        for name, text in table.items():
            if not _NAME.match(name) or not str(text).strip():
                raise PromptSourceError(f"[prompts.{lang}] {name!r}: bad name or empty text")
            out.append(Prompt(lang, name, str(text), voice_of[lang]))
    for lang, table in data.get("digits", {}).items():
        if lang not in voice_of:
            raise PromptSourceError(f"digits of {lang!r}: no voice in [voices]")
        for name, text in table.items():
            if not _NAME.match(name):
                raise PromptSourceError(f"[digits.{lang}] {name!r}: bad name")
            out.append(Prompt(lang, f"digits/{name}", str(text), voice_of[lang]))
    return out


# -- where Asterisk looks -------------------------------------------------------------------

def host_path_in(root: Path, ast_path: str, max_links: int = 40) -> Path:
    """`ast_path` (as Asterisk sees it, inside `root`) as our processes see it, following
    symlinks inside `root`: Debian's sounds/en is a link to /etc/alternatives/..., which on
    the host side would name the host's own /etc."""
    parts = list(PurePosixPath(ast_path).parts[1:])
    current = PurePosixPath("/")
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        host = root / str(candidate).lstrip("/")
        if host.is_symlink():
            links += 1
            if links > max_links:
                raise OSError(f"too many symbolic links under {ast_path}")
            target = PurePosixPath(os.readlink(host))
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            current = PurePosixPath("/") if target.is_absolute() else current
            continue
        current = candidate
    return root / str(current).lstrip("/")


def language_dir(asterisk_root: Path, astdatadir: str, lang: str) -> Path:
    """Asterisk's sounds directory of one language, as our processes see it (Debian's `en`
    is the package's own directory behind two links; `de` is made by the first render)."""
    return host_path_in(asterisk_root, f"{astdatadir.rstrip('/')}/sounds/{lang}")


# -- rendering --------------------------------------------------------------------------------

def _read_manifest(lang_dir: Path) -> dict[str, str]:
    try:
        return json.loads((lang_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render(lang_dir: Callable[[str], Path], engine_name: str | None = None,
           path: Path = PROMPTS_FILE, owner: tuple[int, int] | None = None) -> int:
    """Render every prompt of `path` into lang_dir(<lang>)/<name>.wav (8 kHz mono 16-bit);
    returns how many files were (re)made. `owner` (uid, gid) for the new files and dirs."""
    from voxcast.audio import sounds  # the TTS engines and the sox conversion

    engine_name = engine_name or os.environ.get("VOXCAST_TTS_ENGINE", "espeak-ng")
    engine = sounds.engine_by_name(engine_name)
    by_lang: dict[str, list[Prompt]] = {}
    for prompt in catalogue(path):
        by_lang.setdefault(prompt.lang, []).append(prompt)
    made = 0
    with tempfile.TemporaryDirectory() as tmp:
        for lang, items in by_lang.items():
            base = lang_dir(lang)
            created = [d for d in (base, base / "digits") if not d.exists()]
            base.mkdir(parents=True, exist_ok=True)
            manifest = _read_manifest(base)
            new: list[Path] = []
            for prompt in items:
                dest = base / f"{prompt.name}.wav"
                digest = prompt.digest(engine_name)
                if manifest.get(prompt.name) == digest and dest.exists():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
                engine.synthesize(prompt.text, sounds.check_voice(prompt.voice), raw)
                sounds.convert_file(raw, out)
                _write_atomic(dest, out.read_bytes())
                manifest[prompt.name] = digest
                new.append(dest)
            if new:
                _write_atomic(base / MANIFEST, json.dumps(manifest, indent=1,
                                                          sort_keys=True).encode())
                made += len(new)
            if owner is not None:
                for p in [*created, *new]:  # never the package's own directories
                    try:
                        os.chown(p, *owner)
                    except OSError:  # another instance's render owns it already
                        pass
    log.info("prompts: %d file(s) rendered", made)
    return made
