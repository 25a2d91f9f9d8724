"""The tenant log: who did what, and how it is read."""
