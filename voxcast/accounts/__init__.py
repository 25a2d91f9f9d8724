"""Accounts: users and their roles, sign-in limits and sessions, API keys, e-mail addresses."""
