"""Fixtures for chat-turn tests: a scripted provider app and a real fake upstream."""

from __future__ import annotations

import pytest

from chatkiosk.llm.config import ProviderConfig

from ..fake_upstream import FakeUpstream


@pytest.fixture
def upstream():
    with FakeUpstream() as up:
        yield up


def upstream_config(up: FakeUpstream, **changes) -> ProviderConfig:
    values = dict(name="up", kind="openai", base_url=up.base_url, model="fake-model", max_retries=0,
                  connect_timeout=2, first_token_timeout=5, total_timeout=10)
    values.update(changes)
    return ProviderConfig(**values)
