"""How one LLM backend is reached: kind, URL, key, models and deadlines.

Built from settings by the app factory and passed to `registry.build_provider`; never read
from the environment here.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from .models import KNOWN_MODELS, resolve_model_path


def default_model_path() -> str | None:
    """Path of the embedded default model's GGUF file (see `models`), or None when none is installed."""
    return resolve_model_path(True)


class ProviderConfig(BaseModel):
    """One configured LLM backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: Literal["openai", "anthropic", "local", "fake"]
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = Field(min_length=1)
    models: list[str] = Field(default_factory=list)
    connect_timeout: float = Field(default=5.0, gt=0, le=600)
    first_token_timeout: float = Field(default=30.0, gt=0, le=3600)
    total_timeout: float = Field(default=120.0, gt=0, le=86400)
    max_retries: int = Field(default=2, ge=0, le=10)
    passthrough: bool = False
    model_path: str | None = None
    n_ctx: int = Field(default=2048, ge=128, le=1 << 20)
    n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256, description="one a core")
    max_output_tokens: int | None = Field(default=None, ge=1, le=1 << 20, description="local: cap on an answer")
    # Whether the model sees image parts (photos sent in chat); None: yes for openai, anthropic
    # and fake, no for local (llama.cpp here reads text only). False for a text-only upstream model.
    vision: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> ProviderConfig:
        if self.first_token_timeout > self.total_timeout:
            raise ValueError(
                f"provider {self.name!r}: first_token_timeout ({self.first_token_timeout}) "
                f"must not exceed total_timeout ({self.total_timeout})"
            )
        if self.kind == "openai" and not self.base_url:
            raise ValueError(f"provider {self.name!r}: kind 'openai' needs base_url")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"provider {self.name!r}: base_url must start with http:// or https://"
            )
        return self

    @property
    def sees_images(self) -> bool:
        """Whether this provider's model is given image parts."""
        return self.vision if self.vision is not None else self.kind != "local"

    @property
    def all_models(self) -> list[str]:
        """The default model first, then the extra models, without duplicates."""
        return list(dict.fromkeys([self.model, *self.models]))

    def serves(self, model: str) -> bool:
        """True when `model` is one this provider is configured to serve."""
        return model in self.all_models

    def resolved_model_path(self) -> str | None:
        """The GGUF path for a local provider: the configured one, the named model, or the default."""
        if self.model_path:
            return self.model_path
        if self.model in KNOWN_MODELS:
            return resolve_model_path(self.model)  # None until installed: the provider says how
        return default_model_path()
