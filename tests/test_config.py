"""Settings: sources, derived URLs, and the refusal of default secrets."""

from __future__ import annotations

import os
import stat

import pytest
from pydantic import ValidationError

from chatkiosk.config import Settings


def test_default_secret_refused_in_production(tmp_path):
    for weak in (None, "changeme", "short"):
        with pytest.raises(ValidationError, match="CHATKIOSK_SECRET_KEY"):
            Settings(environment="production", data_dir=tmp_path, secret_key=weak)
    Settings(environment="production", data_dir=tmp_path, secret_key="x" * 40)


def test_development_secret_is_generated_once_with_mode_0600(tmp_path):
    first = Settings(data_dir=tmp_path).jwt_secret()
    second = Settings(data_dir=tmp_path).jwt_secret()
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_environment_and_conventional_names(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("CHATKIOSK_SINGLE_LOGIN", "true")
    s = Settings(data_dir=tmp_path)
    assert s.resolved_database_url == "postgresql+asyncpg://u@db/x"
    assert s.redis_url == "redis://cache:6379/0"
    assert s.single_login is True


def test_sqlite_is_the_default_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings(data_dir=tmp_path).resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/chatkiosk.db"


def test_toml_file(tmp_path, monkeypatch):
    path = tmp_path / "chatkiosk.toml"
    path.write_text('max_streams_per_user = 7\naccess_token_ttl = 600\n')
    monkeypatch.chdir(tmp_path)
    s = Settings(data_dir=tmp_path)
    assert s.max_streams_per_user == 7 and s.access_token_ttl == 600


def test_argon2_below_owasp_minimum_is_refused(tmp_path):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, argon2_memory_kib=4096)
