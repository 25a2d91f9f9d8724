"""Request bodies of /api/v1/smsc-connections (provider key only)."""
from voxcast.schemas import obj

_TON = {"type": "integer", "minimum": 0, "maximum": 18}
SMSC_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "host": {"type": "string", "minLength": 1, "maxLength": 255, "example": "smpp.example.net"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 2775},
    "system_id": {"type": "string", "minLength": 1, "maxLength": 15},
    "password": {"type": "string", "maxLength": 8,
                 "description": "Write only; on update an empty one keeps the stored password."},
    "system_type": {"type": "string", "maxLength": 12},
    "source_addr": {"type": "string", "maxLength": 20,
                    "description": "The sender when the campaign sets none."},
    "source_ton": _TON, "source_npi": _TON, "dest_ton": _TON, "dest_npi": _TON,
    "throughput": {"type": "integer", "minimum": 0, "maximum": 100000,
                   "description": "submit_sm per second on the bind; 0: no limit."},
    "enabled": {"type": "boolean"},
    "is_default": {"type": "boolean", "description": "Used by campaigns that choose none."},
}
SMSC_CREATE = obj(SMSC_FIELDS, ["name", "host", "system_id"])
SMSC_UPDATE = obj(SMSC_FIELDS, update=True)
