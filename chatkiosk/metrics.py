"""Prometheus metrics. One registry per app, so several apps (tests, workers) never collide.

Labels are route templates, agent and provider names, and error kinds: never user text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("chatkiosk_http_requests", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "chatkiosk_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.ttft = Histogram(
            "chatkiosk_time_to_first_token_seconds", "Time from request to first streamed token", ["agent"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.tokens = Counter("chatkiosk_tokens", "LLM tokens", ["direction", "provider"], registry=r)
        self.active_streams = Gauge("chatkiosk_active_streams", "Generations in flight", registry=r)
        self.upstream_errors = Counter("chatkiosk_upstream_errors", "LLM upstream errors", ["provider", "kind"], registry=r)
        self.rate_limited = Counter("chatkiosk_rate_limit_rejections", "Requests refused by a limit", ["limit"], registry=r)
        self.tool_calls = Counter("chatkiosk_tool_calls", "Tool calls", ["agent", "tool", "status"], registry=r)
        self.guardrail_hits = Counter("chatkiosk_guardrail_hits", "Guardrail hits", ["guardrail", "action"], registry=r)
        self.turns = Counter("chatkiosk_turns", "Chat turns", ["agent", "path", "status"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
