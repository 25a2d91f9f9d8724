"""Feature permissions in the UI: `feature_required(name)` for views, `has_feature(name)`
for templates (the nav hides what the tenant's plan lacks)."""
from __future__ import annotations

import functools

from flask import g, render_template
from flask_babel import gettext as _
from flask_login import current_user

from models import Tenant
from voxcast.tenants import features


def current_tenant() -> Tenant | None:
    """The logged-in user's tenant, read once per request."""
    if not getattr(current_user, "is_authenticated", False) or current_user.tenant_id is None:
        return None
    if getattr(g, "_vx_tenant_id", None) != current_user.tenant_id:
        g._vx_tenant = Tenant.get_or_none(Tenant.id == current_user.tenant_id)
        g._vx_tenant_id = current_user.tenant_id
    return g._vx_tenant


def has_feature(name: str) -> bool:
    return features.has(current_tenant(), name)


def feature_required(name: str):
    """403 with a message naming the feature when the user's tenant lacks it. Put it under
    the login/role decorator; users without a tenant are left to that one."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            tenant = current_tenant()
            if tenant is not None and not features.has(tenant, name):
                message = _("Your plan does not include %(feature)s. Ask your provider to "
                            "enable it.", feature=features.label(name))
                return render_template("error.html", code=403, message=message), 403
            return view(*args, **kwargs)
        return wrapped
    return decorate


def init_app(app) -> None:
    app.jinja_env.globals["has_feature"] = has_feature
