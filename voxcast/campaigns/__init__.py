"""Campaigns: their life cycle (lifecycle.py); create, update and progress still live in
voxcast.campaign_service until the restructuring moves them here."""
