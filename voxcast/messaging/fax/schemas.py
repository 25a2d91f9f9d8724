"""Request bodies of /api/v1/fax-documents (the resource validates against them, the OpenAPI
document publishes them)."""
from voxcast.schemas import ID, obj

from voxcast.messaging.fax.convert import MAX_BYTES

FAX_DOCUMENT_CREATE = obj({
    "name": {"type": "string", "maxLength": 120, "description": "Empty: the file's name."},
    "filename": {"type": "string", "maxLength": 255, "example": "offer.pdf"},
    "content_base64": {"type": "string", "minLength": 1,
                       "maxLength": (MAX_BYTES * 4) // 3 + 4,
                       "description": f"The PDF or TIFF, base64-encoded (at most "
                                      f"{MAX_BYTES // (1024 * 1024)} MB decoded)."},
    "tenant_id": {**ID, "description": "Only with the provider's key: whose document."},
}, ["content_base64"])
