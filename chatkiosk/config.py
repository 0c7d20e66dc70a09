"""Typed settings, validated at start and passed down; never built at import.

Sources, strongest first: keyword arguments, environment variables (`CHATKIOSK_*`, plus the
conventional `DATABASE_URL`, `REDIS_URL`, `OPENAI_BASE_URL`, `OPENAI_API_KEY`,
`ANTHROPIC_API_KEY`), then an optional `chatkiosk.toml` (path in `CHATKIOSK_CONFIG`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Values that must never protect a real deployment.
_WEAK_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "chatkiosk"}
SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    """Everything the server can be told; see README "Configuration" for each field."""

    model_config = SettingsConfigDict(
        env_prefix="CHATKIOSK_",
        extra="ignore",
        populate_by_name=True,
        toml_file=os.environ.get("CHATKIOSK_CONFIG", "chatkiosk.toml"),
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    database_url: str | None = Field(
        None, validation_alias=AliasChoices("CHATKIOSK_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("CHATKIOSK_REDIS_URL", "REDIS_URL")
    )
    # Namespaces every Redis key, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = "chatkiosk"

    secret_key: SecretStr | None = None

    # --- tokens and sessions
    access_token_ttl: int = Field(15 * 60, ge=30, description="seconds")
    refresh_token_ttl: int = Field(7 * 24 * 3600, ge=60, description="seconds")
    single_login: bool = False
    max_sessions_per_user: int = Field(10, ge=1)
    max_streams_per_user: int = Field(3, ge=1)

    # --- passwords (argon2id; OWASP minimum is m=19456 KiB, t=2, p=1)
    argon2_memory_kib: int = Field(19456, ge=19456)
    argon2_time_cost: int = Field(2, ge=2)
    argon2_parallelism: int = Field(1, ge=1)

    # --- login throttling per account
    login_max_failures: int = Field(5, ge=1)
    login_failure_window: int = Field(15 * 60, ge=1, description="seconds")
    login_lockout: int = Field(60, ge=1, description="seconds of cooldown once throttled")

    # --- request limits
    max_body_bytes: int = Field(1_000_000, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)

    # --- logging
    log_level: str = "INFO"
    log_json: bool = True

    # --- demo data seeded by `make run`
    demo_username: str = "demo"
    demo_password: SecretStr = SecretStr("kiosk-demo-2026")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("environment", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> Settings:
        if self.environment == "production":
            value = self.secret_key.get_secret_value() if self.secret_key else ""
            if value.lower() in _WEAK_SECRETS or len(value) < 32:
                raise ValueError(
                    "CHATKIOSK_SECRET_KEY must be set to a random value of at least 32 "
                    "characters in production (try: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
        return self

    # --- derived values

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: `DATABASE_URL`, or SQLite in the data directory."""
        if self.database_url:
            url = self.database_url
            # People paste the URL their other tools use; pick the async driver for them.
            if url.startswith("postgres://"):
                url = "postgresql://" + url.removeprefix("postgres://")
            if url.startswith("postgresql://"):
                url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
            if url.startswith("sqlite://"):
                url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
            return url
        return f"sqlite+aiosqlite:///{self.data_dir / 'chatkiosk.db'}"

    def jwt_secret(self) -> str:
        """The signing secret: configured, or (development/test) generated once and kept."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        # Create with 0600 from the start: the secret must never be world-readable.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race; use its secret
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        self.secret_key = SecretStr(value)
        return value
