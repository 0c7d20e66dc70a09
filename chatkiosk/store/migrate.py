"""Apply the Alembic migrations shipped in this package (no alembic.ini needed)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from chatkiosk.store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic announces its plugins (when first imported) and its context at INFO: noise for
    # the person at the terminal, so its imports and runs happen under this.
    quiet = logging.getLogger("alembic")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        yield
    finally:
        quiet.setLevel(level)


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped in this package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _describe(script: ScriptDirectory, revision: str) -> str:
    doc = (script.get_revision(revision).doc or "").strip().splitlines()
    return f"{revision} {doc[0]}" if doc else revision


async def upgrade(db: Database, revision: str = "head") -> list[str]:
    """Bring the database schema up to `revision`; returns the revisions applied, oldest first
    ("0002 kiosk_orders"), empty when it was already there."""

    def _run(sync_conn) -> list[str]:  # type: ignore[no-untyped-def]
        with _quiet_alembic():
            from alembic import command
            from alembic.runtime.migration import MigrationContext
            from alembic.script import ScriptDirectory

            cfg = alembic_config()
            cfg.attributes["connection"] = sync_conn
            script = ScriptDirectory.from_config(cfg)
            before = MigrationContext.configure(sync_conn).get_current_revision()
            command.upgrade(cfg, revision)
            after = MigrationContext.configure(sync_conn).get_current_revision()
        if after == before or after is None:
            return []
        applied = [r.revision for r in script.iterate_revisions(after, before)]
        return [_describe(script, r) for r in reversed(applied)]

    async with db.write_engine.begin() as conn:
        return await conn.run_sync(_run)

