"""Imports every resource module so its routes land on the blueprint."""
from . import campaigns, contacts, dnc, numbers, tenants, users  # noqa: F401
