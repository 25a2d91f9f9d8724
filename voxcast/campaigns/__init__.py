"""Campaigns: create and update (editing.py), every status change (lifecycle.py), progress,
start/pause/stop and the message audio (services.py), calling hours and flow settings."""
