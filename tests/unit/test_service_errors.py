"""Every service error carries a stable code and an HTTP status (voxcast.errors.ServiceError),
so both edges map any of them the same way."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import voxcast
from voxcast.errors import ServiceError

# Errors that are not about a user's request: the edges never show them as an answer.
INTERNAL = {"AsteriskError", "ToolError", "MailError", "InvalidEmail", "UnknownFeature",
            "FlowError", "Refused", "PromptSourceError",  # sounds/prompts.toml itself broken
            "NoCredit", "NoRate", "ForeignFlowError",  # call-time signals, never an answer
            "ScoreError",  # the pure scoring's signal, turned into an EvaluationError
            "RenderError",  # a message template that fails for one contact: that contact fails
            "ConfigError",  # the configuration file unreadable: `voxcast` stops at start
            "KamailioError"}  # `voxcast kamailio` could not start or reload it, as AsteriskError


def _error_classes():
    for info in pkgutil.walk_packages(voxcast.__path__, "voxcast."):
        if info.name.endswith(("cli", "__main__")):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, Exception)
                    and name not in INTERNAL and not name.startswith("_")):
                yield cls


def test_every_service_error_has_a_code_and_a_status():
    found = list(_error_classes())
    assert len(found) > 15
    for cls in found:
        assert issubclass(cls, ServiceError), f"{cls.__module__}.{cls.__name__}"
        # 4xx: about the request; 503 only where our own telephony side is down (the
        # request was fine and may be repeated).
        allowed = (400 <= cls.status < 500
                   or (cls.status == 503 and cls.code.endswith("unavailable")))
        assert isinstance(cls.code, str) and cls.code and allowed, cls


def test_fields_come_from_the_errors_own_shape():
    from voxcast.tenants.services import TenantError
    from voxcast.accounts.users import UserError
    assert TenantError({"slug": "taken", "": "whole form"}).fields == {"slug": "taken"}
    assert UserError("too short", field="password").fields == {"password": "too short"}
