"""What a bench run does, and the bounds it keeps."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from chatkiosk.errors import UserError

Transport = Literal["sse", "ws", "v1"]

MAX_USERS = 2000
MAX_SECONDS = 900.0
MAX_TURNS = 200_000


@dataclass(frozen=True, slots=True)
class BenchPlan:
    """One load test: who, what, how long."""

    url: str
    users: int = 10
    agent: str = "assistant"
    transport: Transport = "sse"
    duration: float | None = 30.0  # seconds of sending, after the ramp-up began
    turns: int | None = None  # or: stop after this many turns in all
    ramp_up: float = 5.0  # seconds over which the users start
    think: float = 0.0  # seconds a user waits between turns
    message: str = "Hello! Tell me something short."
    password: str = "bench-password-2026"
    user_prefix: str = "bench"
    timeout: float = 120.0  # one turn's limit, client side
    setup_timeout: float = 600.0  # signing every user up, before the load starts

    def validate(self) -> None:
        """Refuse a plan outside the bounds (one clear sentence each)."""
        if not 1 <= self.users <= MAX_USERS:
            raise UserError(f"--users must be between 1 and {MAX_USERS}")
        if self.duration is None and self.turns is None:
            raise UserError("give --duration or --turns")
        if self.duration is not None and not 0 < self.duration <= MAX_SECONDS:
            raise UserError(f"--duration must be between 0 and {MAX_SECONDS:.0f} seconds")
        if self.turns is not None and not 1 <= self.turns <= MAX_TURNS:
            raise UserError(f"--turns must be between 1 and {MAX_TURNS}")
        if self.ramp_up < 0 or self.think < 0:
            raise UserError("--ramp-up and --think cannot be negative")
        if self.transport not in ("sse", "ws", "v1"):
            raise UserError("--transport is sse, ws or v1")

    @property
    def deadline_seconds(self) -> float:
        """The hard stop of the whole run: the duration (or the cap) plus time to finish turns."""
        return min(self.duration if self.duration is not None else MAX_SECONDS, MAX_SECONDS) + self.ramp_up + self.timeout


def check_target(url: str, *, allow_remote: bool = False) -> None:
    """Refuse a target that does not resolve to loopback only, unless `allow_remote`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"the target must be an http(s) URL, not {url!r}")
    if allow_remote:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise UserError(f"cannot resolve {parts.hostname!r}: {exc.strerror}") from None
    addresses = {info[4][0] for info in infos}
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise UserError(
                f"{parts.hostname} is not a loopback address ({address}); "
                "a load test of another host needs --allow-remote"
            )
