"""`chatkiosk ingest PATH… [--shared] [--user NAME]`, run as an operator would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from chatkiosk.config import Settings
from chatkiosk.runtime import Runtime

from .documents import HTML, MARKDOWN, TEXT, pdf_bytes


def run(tmp_path, *args, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CHATKIOSK_DATA_DIR": str(tmp_path), "CHATKIOSK_ENVIRONMENT": "test"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "chatkiosk", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def _documents(tmp_path) -> list[tuple[str, str, str | None]]:
    async def read():
        runtime = Runtime.build(Settings(environment="test", data_dir=tmp_path))
        try:
            async with runtime.db.read() as session:
                from sqlalchemy import select

                from chatkiosk.store.knowledge import KnowledgeDocument

                rows = await session.execute(select(KnowledgeDocument.title, KnowledgeDocument.visibility, KnowledgeDocument.owner_id))
                return sorted(tuple(r) for r in rows)
        finally:
            await runtime.close()

    return asyncio.run(read())


def test_ingest_a_folder_shared_with_progress_and_summary(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "returns.md").write_bytes(MARKDOWN)
    (folder / "notes.txt").write_bytes(TEXT)
    (folder / "sub" / "care.html").write_bytes(HTML)
    (folder / "sub" / "scan.pdf").write_bytes(pdf_bytes())
    (folder / "sub" / "extra.md").write_text("# Extra\n\nMore text.")
    (folder / "ignored.png").write_bytes(b"\x89PNG")
    r = run(tmp_path, "ingest", str(folder), "--shared")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ingested 5 files (") and "failed" not in r.stdout
    assert "5/5" in r.stderr  # the progress bar
    docs = _documents(tmp_path)
    assert [d[0] for d in docs] == ["Care guide", "Extra", "Returns handbook", "Warehouse notes", "scan"]
    assert all(visibility == "shared" and owner is None for _, visibility, owner in docs)


def test_ingest_for_a_user_and_failures(tmp_path):
    run(tmp_path, "db", "upgrade")
    assert run(tmp_path, "user", "add", "alice", stdin="very-secret-pass\n").returncode == 0
    good = tmp_path / "good.md"
    good.write_bytes(MARKDOWN)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    r = run(tmp_path, "ingest", str(good), str(bad), "--user", "alice")
    assert r.returncode == 1
    assert "ingested 1 file (" in r.stdout and "1 failed" in r.stdout
    assert f"{bad}:" in r.stderr and "Traceback" not in r.stderr
    docs = _documents(tmp_path)
    assert [(t, v) for t, v, _ in docs] == [("Returns handbook", "private")] and docs[0][2] is not None
    for args in (("ingest", str(good)), ("ingest", str(good), "--user", "nobody"), ("ingest", str(tmp_path / "missing.md"), "--shared")):
        r = run(tmp_path, *args)
        assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
