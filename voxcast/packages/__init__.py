"""Packages (what a provider sells) and subscriptions (a tenant on a package): provisioning,
renewal, suspension for non-payment, termination, package changes, top-ups and usage."""
