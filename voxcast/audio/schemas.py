"""Request bodies of /api/v1/prompts, the audio library (the resource validates against them,
the OpenAPI document publishes them)."""
from voxcast.schemas import ID, obj

from voxcast.audio.library import MAX_BYTES, MAX_NAME, MAX_TEXT

PROMPT_CREATE = obj({
    "name": {"type": "string", "maxLength": MAX_NAME,
             "description": "Unique in the tenant's library. Empty: the file's name, or the "
                            "start of the text."},
    "filename": {"type": "string", "maxLength": 255, "example": "welcome.mp3",
                 "description": "With content_base64: its extension tells sox the format."},
    "content_base64": {"type": "string", "minLength": 1, "maxLength": (MAX_BYTES * 4) // 3 + 4,
                       "description": f"An audio file in any format sox reads, base64-encoded "
                                      f"(at most {MAX_BYTES // (1024 * 1024)} MB decoded)."},
    "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
             "description": "Instead of a file: a text spoken by TTS."},
    "language": {"type": "string", "enum": ["en", "de"],
                 "description": "With text: the language to speak it in (default: the "
                                "tenant's)."},
    "tenant_id": {**ID, "description": "Only with the provider's key: whose prompt."},
})
