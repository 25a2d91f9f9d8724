"""`voxcast webhooks`: the process that posts queued webhook events (voxcast.webhooks)."""
