"""IVRs: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import ID, obj

IVR_TREE = {"type": "object", "description": (
    "{start: node id, nodes: {id: {type: play|say|menu|get_digits|branch|transfer|record|"
    "set_field|set_result|opt_out|hangup, ...}}}; checked on save (unknown or unreachable nodes, "
    "loops without input, missing parameters are refused with every reason).")}
IVR_NUMBER = {"type": "string", "pattern": "^([0-9]{2,6})?$",
              "x-pattern-message": "2 to 6 digits, or empty",
              "description": "Dialled by the tenant's phones to reach the IVR; empty: none."}
IVR_CREATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}, "tree": IVR_TREE,
                  "number": IVR_NUMBER,
                  "tenant_id": {**ID, "description": "Only with the provider's key."}},
                 ["name", "tree"])
IVR_UPDATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}, "tree": IVR_TREE,
                  "number": IVR_NUMBER}, update=True)
