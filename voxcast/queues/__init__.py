"""Inbound ACD queues of a tenant: settings and member agents (voxcast.queues.services)."""
