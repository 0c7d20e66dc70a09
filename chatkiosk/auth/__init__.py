"""Accounts and sessions: passwords, tokens, API keys, revocation, the current-user dependency."""
