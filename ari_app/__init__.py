"""The voxcast Stasis application: one asyncio loop that owns all call control over ARI."""
