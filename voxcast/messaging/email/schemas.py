"""Request bodies of /api/v1/email-dnc (the resource validates against them, the OpenAPI
document publishes them)."""
from voxcast.schemas import EMAIL, ID, obj

EMAIL_DNC_CREATE = obj({
    "address": EMAIL,
    "tenant_id": {**ID, "description": "Only with the provider's key: whose list."},
}, ["address"])
