"""Guardrails and limits: rate limits, throttles, concurrency and token quotas."""
