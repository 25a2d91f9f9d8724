"""Tenant data for integration tests, made through the same services the web UI uses."""
from __future__ import annotations

import itertools

from models import Campaign, Contact, ContactGroup, Tenant
from voxcast.campaigns import services as campaign_service
from voxcast.config import Settings

_seq = itertools.count(1)


def unique_phones(n: int) -> list[str]:
    """E.164 numbers no other test uses, so CDRs and sipp logs never mix."""
    base = next(_seq) * 1000
    return [f"+1555{base + i:07d}" for i in range(n)]


def make_group(tenant: Tenant, phones: list[str]) -> ContactGroup:
    group = ContactGroup.create(tenant=tenant, name=f"group-{next(_seq)}")
    for i, phone in enumerate(phones):
        Contact.create(tenant=tenant, group=group, phone=phone, first_name=f"Contact{i}")
    return group


def make_campaign(tenant: Tenant, settings: Settings, phones: list[str],
                  text: str = "Hello. This is a voxcast test message. Goodbye.",
                  **fields) -> Campaign:
    group = make_group(tenant, phones)
    campaign = Campaign.create(tenant=tenant, name=f"campaign-{next(_seq)}", group=group, **fields)
    campaign_service.save_message(campaign, settings, text=text)
    return Campaign.get_by_id(campaign.id)


def reload(campaign: Campaign) -> Campaign:
    return Campaign.get_by_id(campaign.id)
