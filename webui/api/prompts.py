"""/api/v1/prompts: the tenant's audio library (upload as base64 JSON or a text to speak, list
with where each prompt is used, one, its audio as WAV, delete while unused). Through
voxcast.audio.library, like the web pages."""
from __future__ import annotations

import base64
import binascii

from flask import abort, current_app, jsonify, send_file

from models.entities import Prompt
from models.tenancy import get_scoped, scoped
from voxcast.audio import library
from voxcast.audio.schemas import PROMPT_CREATE

from . import ID, ApiError, body, bp, own_tenant_only, paginate, scope, target_tenant


def dump_prompt(p: Prompt, found: dict | None = None) -> dict:
    uses = (found if found is not None else library.uses(p.tenant_id, [p]))[p.id]
    return {"id": p.id, "tenant_id": p.tenant_id, "name": p.name, "source": p.source,
            "sound": p.sound, "text": p.text, "language": p.language, "filename": p.filename,
            "seconds": float(p.seconds), "size_bytes": p.size_bytes,
            "uses": [{"kind": u.kind, "id": u.id, "name": u.name, "blocking": u.blocking}
                     for u in uses],
            "in_use": any(u.blocking for u in uses),
            "created_at": p.created_at.isoformat() + "Z"}


def _uses_of_page(rows: list[Prompt]) -> dict:
    found: dict = {}
    for tenant_id in {p.tenant_id for p in rows}:  # a provider's page may span tenants
        found.update(library.uses(tenant_id, [p for p in rows if p.tenant_id == tenant_id]))
    return found


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


@bp.get("/prompts")
def prompts_list():
    query = scoped(Prompt, scope()).order_by(Prompt.name, Prompt.id)
    return paginate(query, dump_prompt, lookup=_uses_of_page)


@bp.post("/prompts")
def prompts_create():
    data = body(PROMPT_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    has_file, has_text = "content_base64" in data, "text" in data
    if has_file == has_text:
        raise ApiError(422, "validation", "Send either content_base64 (a file) or text.",
                       {"content_base64": "either this or text"})
    if has_file:
        try:
            content = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "validation", "content_base64 is not base64.",
                           {"content_base64": "is not base64"}) from None
        prompt = library.upload(tenant.id, data.get("name", ""), data.get("filename", ""),
                                content, _settings())
    else:
        prompt = library.speak(tenant.id, data.get("name", ""), data["text"], _settings(),
                               language=data.get("language"))
    return jsonify(dump_prompt(prompt)), 201


@bp.get(f"/prompts/<{ID}:prompt_id>")
def prompts_get(prompt_id: int):
    return jsonify(dump_prompt(get_scoped(Prompt, scope(), prompt_id)))


@bp.get(f"/prompts/<{ID}:prompt_id>/audio")
def prompts_audio(prompt_id: int):
    prompt = get_scoped(Prompt, scope(), prompt_id)
    path = library.audio_path(_settings(), prompt)
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/wav", download_name=f"{prompt.sound}.wav",
                     conditional=True)


@bp.delete(f"/prompts/<{ID}:prompt_id>")
def prompts_delete(prompt_id: int):
    prompt = get_scoped(Prompt, scope(), prompt_id)
    library.delete(prompt.tenant_id, prompt.id, _settings())
    return "", 204
