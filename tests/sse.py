"""Read server-sent events the way a browser's EventSource would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass
class SSE:
    id: int | None
    event: str
    data: Any


def parse(text: str) -> list[SSE]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        if "event" in fields:
            events.append(SSE(int(fields["id"]) if "id" in fields else None, fields["event"], json.loads(fields.get("data", "null"))))
    return events


async def iterate(lines: AsyncIterator[str]) -> AsyncIterator[SSE]:
    block: list[str] = []
    async for line in lines:
        if line == "":
            if block:
                parsed = parse("\n".join(block) + "\n\n")
                block = []
                for event in parsed:
                    yield event
            continue
        block.append(line)
