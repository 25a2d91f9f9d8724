"""Dialing: claiming due contacts (with the admission gates), campaign plans, retry
policy and pacing; run on the Stasis app's writer thread, free of asyncio."""
