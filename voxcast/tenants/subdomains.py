"""Which tenant a request's Host names: `<slug>.<VOXCAST_BASE_DOMAIN>` is that tenant's own
login (branding, only its users); the bare base domain, or any other host (an IP address,
localhost), is the provider's login where everybody may sign in."""
from __future__ import annotations

import os
from dataclasses import dataclass

from models import Tenant


@dataclass(frozen=True)
class LoginSite:
    subdomain: str | None  # the slug asked for; None on the provider's own host
    tenant: Tenant | None  # its tenant, None when no tenant has that slug

    @property
    def is_tenant_site(self) -> bool:
        return self.subdomain is not None

    def allows(self, user) -> bool:
        """Only the site's tenant's users log in on a tenant sub-domain."""
        if self.subdomain is None:
            return True
        return self.tenant is not None and user.tenant_id == self.tenant.id


def base_domain() -> str:
    return os.environ.get("VOXCAST_BASE_DOMAIN", "").strip().lower().strip(".")


def login_site(host: str, domain: str | None = None) -> LoginSite:
    """Resolve a Host header (port ignored) against the base domain."""
    domain = base_domain() if domain is None else domain
    name = (host or "").strip().lower().rsplit(":", 1)[0].rstrip(".")
    if not domain or not name.endswith("." + domain):
        return LoginSite(None, None)
    label = name[: -len(domain) - 1]
    if not label or "." in label:
        return LoginSite(label or None, None) if label else LoginSite(None, None)
    return LoginSite(label, Tenant.get_or_none(Tenant.slug == label))
