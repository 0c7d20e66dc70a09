"""`chatkiosk ingest PATH…`: many files into the knowledge base, with progress and a summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from chatkiosk.errors import ChatkioskError
from chatkiosk.knowledge.formats import _SUFFIXES
from chatkiosk.knowledge.service import KnowledgeBase

PROGRESS_FROM = 5  # files: fewer than this get no progress bar
BAR_WIDTH = 30


@dataclass(slots=True)
class BatchReport:
    """What a batch did: files and chunks added, and each failure with its reason."""

    files: int = 0
    chunks: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line, e.g. "ingested 9 files (60 chunks) in 3.1 s; 1 failed"."""
        line = f"ingested {self.files} file{'s' if self.files != 1 else ''} ({self.chunks} chunks) in {self.seconds:.1f} s"
        return line + (f"; {len(self.failures)} failed" if self.failures else "")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The files to ingest: files as given, folders searched for the supported suffixes."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise ChatkioskError(f"no such file or folder: {path}")
    return found


def _progress(out: TextIO, done: int, total: int, name: str) -> None:
    filled = BAR_WIDTH * done // max(total, 1)
    out.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {name[:40]:<40}")
    out.flush()


async def ingest_files(
    knowledge: KnowledgeBase, files: list[Path], *, owner_id: str | None, visibility: str, out: TextIO = sys.stderr,
) -> BatchReport:
    """Ingest each file (one failing does not stop the others); progress on `out` for many files."""
    report = BatchReport()
    started = time.perf_counter()
    show = len(files) >= PROGRESS_FROM
    for i, path in enumerate(files):
        if show:
            _progress(out, i, len(files), path.name)
        try:
            info = await knowledge.ingest(path.read_bytes(), filename=path.name, owner_id=owner_id, visibility=visibility, refresh=False)
        except ChatkioskError as exc:
            report.failures.append((path, exc.message))
            continue
        except OSError as exc:
            report.failures.append((path, exc.strerror or str(exc)))
            continue
        report.files += 1
        report.chunks += info.chunks
    if show:
        _progress(out, len(files), len(files), "")
        out.write("\n")
    report.seconds = time.perf_counter() - started
    return report
