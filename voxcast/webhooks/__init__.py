"""Webhooks: signed JSON events for the provider's and each tenant's own URLs (issue 15)."""
