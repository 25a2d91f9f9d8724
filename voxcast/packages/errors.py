"""Typed errors of packages and subscriptions (stable codes, HTTP statuses for the API)."""
from __future__ import annotations

from voxcast.errors import ServiceError


class PackageError(ServiceError):
    """A package's data cannot be saved or a package cannot be used for this: `errors` maps
    a field ("" for the whole) to a message."""
    code, status = "invalid-package", 422

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


class SubscriptionError(ServiceError):
    """The subscription cannot do that now (already subscribed, terminated, in use...)."""
    code, status = "subscription-refused", 409


class DowngradeRefused(SubscriptionError):
    """The package's limits are below what the tenant uses: `over` maps each limit
    (max_users, max_agents, max_campaigns, max_contacts, disk_quota_mb) to why."""
    code = "downgrade-refused"

    def __init__(self, package_name: str, over: dict[str, str]):
        self.over = dict(over)
        self.errors = dict(over)
        super().__init__(f"The tenant uses more than package '{package_name}' allows: "
                         + "; ".join(over.values()))


class NoSubscription(ServiceError):
    code, status = "no-subscription", 404

    def __init__(self, message: str = "The tenant has no subscription."):
        super().__init__(message)
