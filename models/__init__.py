"""Peewee models. Every tenant-owned row carries its tenant; see models.tenancy for scoping."""
from .db import BaseModel, database, init_database
from .entities import (
    ALL_MODELS,
    ApiKey,
    Call,
    DncNumber,
    Extension,
    TenantLog,
    Timeslot,
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Did,
    RatePlan,
    SystemStatus,
    Tenant,
    User,
)
from .tenancy import scoped
from .setup import create_schema, bootstrap

__all__ = [
    "ApiKey", "DncNumber", "Extension", "TenantLog", "Timeslot",
    "BaseModel", "database", "init_database", "ALL_MODELS", "Call", "Campaign",
    "CampaignContact", "Contact", "ContactGroup", "Did", "RatePlan", "SystemStatus",
    "Tenant", "User", "scoped", "create_schema", "bootstrap",
]
