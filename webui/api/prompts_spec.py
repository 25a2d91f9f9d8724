"""The OpenAPI part of /api/v1/prompts, the audio library (webui/api/prompts.py), merged into
the document by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.audio.schemas import PROMPT_CREATE
from voxcast.schemas import DATETIME, ID, STRING, out

from .spec import ERRORS, PAGING, TENANT_FILTER, WRITE, json_content, op, page_of, path_id, ref


def schemas() -> dict:
    return {
        "PromptUse": out({
            "kind": {"type": "string", "enum": ["campaign", "ivr", "did"]},
            "id": ID, "name": {"type": "string", "description": "its name (a DID: the number)"},
            "blocking": {"type": "boolean", "description": "may still play the prompt (a "
                                                           "campaign not finished, an IVR, a "
                                                           "DID greeting)"}}),
        "Prompt": out({
            "id": ID, "tenant_id": ID, "name": STRING,
            "source": {"type": "string", "enum": ["upload", "recording", "tts"]},
            "sound": {"type": "string", "description": "the name an IVR node's `sound` and a "
                                                       "campaign's message_file use"},
            "text": {"type": "string", "description": "what TTS spoke (tts)"},
            "language": {"type": "string", "description": "the TTS language (tts)"},
            "filename": {"type": "string", "description": "as uploaded"},
            "seconds": {"type": "number"},
            "size_bytes": {"type": "integer", "description": "counted in the disk quota"},
            "uses": {"type": "array", "items": ref("PromptUse")},
            "in_use": {"type": "boolean", "description": "cannot be deleted"},
            "created_at": DATETIME}),
    }


def paths() -> dict:
    tag = "Audio library"
    wav = {"description": "The prompt as 8 kHz mono 16-bit WAV",
           "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}
    return {
        "/prompts": {
            "get": op("List the tenant's prompts with where each is used", "One page",
                      page_of("Prompt"), tag=tag, params=(*PAGING, TENANT_FILTER)),
            "post": op("Add a prompt: an audio file in any format sox reads (base64), or a "
                       "text spoken by TTS in the tenant's language (or `language`); refused "
                       "when the file is not audio sox reads, empty, longer than ten minutes, "
                       "too large or over the disk quota", "Added", ref("Prompt"),
                       status="201", request=PROMPT_CREATE, tag=tag, errors=WRITE,
                       extra={"413": {"description": "The file is larger than the limit.",
                                      "content": json_content(ref("Error"))}}),
        },
        "/prompts/{id}": {"parameters": [path_id()],
                          "get": op("One prompt", "The prompt", ref("Prompt"), tag=tag,
                                    params=(TENANT_FILTER,)),
                          "delete": op("Delete a prompt nothing may still play (409 "
                                       "otherwise)", "Deleted", status="204", tag=tag,
                                       errors=("400", "401", "403", "404", "409"))},
        "/prompts/{id}/audio": {"parameters": [path_id()], "get": {
            "summary": "The prompt's audio", "tags": [tag], "parameters": [TENANT_FILTER],
            "responses": {"200": wav, **{code: {"description": ERRORS[code],
                                                "content": json_content(ref("Error"))}
                                         for code in ("400", "401", "403", "404")}}}},
    }
