"""The ACD's database work (queues and agents in the Stasis app's writer thread)."""
