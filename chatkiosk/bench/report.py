"""Figures of a bench run: percentiles, errors by code, the server's memory, a table."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatkiosk.bench.users import TurnSample


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(slots=True)
class Tally:
    """Samples as they arrive, for the live line and the final table."""

    samples: list[TurnSample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    setup_errors: Counter[str] = field(default_factory=Counter)

    def add(self, sample: TurnSample) -> None:
        self.samples.append(sample)
        if sample.error:
            self.errors[sample.error] += 1

    @property
    def ok(self) -> int:
        return sum(1 for s in self.samples if s.ok)

    def summary(self, seconds: float, users: int, rss: dict[str, int] | None) -> dict[str, Any]:
        """The run's figures, in milliseconds where they are times."""
        ttfts = [s.ttft for s in self.samples if s.ok and s.ttft is not None]
        gaps = [g for s in self.samples if s.ok for g in s.gaps]
        turns = [s.seconds for s in self.samples if s.ok]

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        return {
            "users": users,
            "seconds": round(seconds, 2),
            "turns": len(self.samples),
            "turns_ok": self.ok,
            "turns_per_second": round(self.ok / seconds, 2) if seconds > 0 else 0.0,
            "ttft_ms": {"p50": ms(percentile(ttfts, 50)), "p99": ms(percentile(ttfts, 99))},
            "turn_ms": {"p50": ms(percentile(turns, 50)), "p99": ms(percentile(turns, 99))},
            "gap_ms": {"p50": ms(percentile(gaps, 50)), "p99": ms(percentile(gaps, 99))},
            "errors": dict(self.errors.most_common()),
            "setup_errors": dict(self.setup_errors.most_common()),
            "server_rss_kib": rss,
        }


def render(summary: dict[str, Any]) -> str:
    """The summary as a table a person reads."""

    def show(value: Any) -> str:
        return "—" if value is None else f"{value}"

    rows = [
        ("virtual users (ready)", show(summary["users"])),
        ("signing up took", f"{summary.get('setup_seconds', '—')} s"),
        ("duration", f"{summary['seconds']} s"),
        ("turns (ok / all)", f"{summary['turns_ok']} / {summary['turns']}"),
        ("turns/s", show(summary["turns_per_second"])),
        ("time to first token p50 / p99", f"{show(summary['ttft_ms']['p50'])} / {show(summary['ttft_ms']['p99'])} ms"),
        ("whole turn p50 / p99", f"{show(summary['turn_ms']['p50'])} / {show(summary['turn_ms']['p99'])} ms"),
        ("inter-token gap p50 / p99", f"{show(summary['gap_ms']['p50'])} / {show(summary['gap_ms']['p99'])} ms"),
    ]
    rss = summary.get("server_rss_kib")
    if rss:
        rows.append(("server RSS (before → after)", f"{rss['before'] // 1024} → {rss['after'] // 1024} MiB ({rss['processes']} process(es))"))
    else:
        rows.append(("server RSS", "not visible (not a local process of this user)"))
    errors = summary["errors"] or {}
    rows.append(("errors", ", ".join(f"{code} ×{n}" for code, n in errors.items()) or "none"))
    if summary["setup_errors"]:
        rows.append(("users that could not start", ", ".join(f"{c} ×{n}" for c, n in summary["setup_errors"].items())))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name.ljust(width)}  {value}" for name, value in rows)


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def server_pids(url: str) -> list[int]:
    """Processes of this machine that listen on the URL's port (the server and its workers)."""
    parts = urlsplit(url)
    inodes = _listening_inodes(parts.port or (443 if parts.scheme == "https" else 80))
    if not inodes:
        return []
    wanted = {f"socket:[{i}]" for i in inodes}
    pids: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue  # gone, or not ours to read
    return sorted(pids)


def rss_kib(pids: list[int]) -> int | None:
    """Resident memory of these processes together, in KiB (None when none can be read)."""
    total, seen = 0, False
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    seen = True
        except OSError:
            continue
    return total if seen else None
