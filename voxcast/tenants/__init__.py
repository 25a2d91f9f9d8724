"""Tenants (the provider's clients): profile, status, features, quotas, sub-domains, timeslots."""
