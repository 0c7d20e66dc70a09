"""Structured logs: one JSON object a line, with the request id, scrubbed of secrets and PII."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from chatkiosk.redact import redact

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Fields every record has, plus uvicorn's terminal-coloured copy of its message.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"color_message"}


class JsonFormatter(logging.Formatter):
    """Render a record as JSON; extra fields passed with `extra=` become keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        scrubbed = _scrubbed(entry)
        if scrubbed is None:  # a nested value: the whole line scrubbed as text
            return redact(json.dumps(entry, ensure_ascii=False, default=str))
        return json.dumps(scrubbed, ensure_ascii=False)


# A field whose name says it holds a secret (what `redact`'s key=value pattern catches).
_SECRET_NAME = re.compile(r"(?i)(?:password|passwd|secret|api_key|apikey|token)$")
_OURS = ("ts", "level", "logger")  # written here, from the record: nothing to scrub


def _scrubbed(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry with each value scrubbed on its own (the access log's ~10 short fields cost a
    few µs this way, the whole JSON line ~50 µs); None when a value is not a plain scalar."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in _OURS:
            out[key] = value
        elif _SECRET_NAME.search(key):
            out[key] = "[REDACTED]"
        elif isinstance(value, str):
            out[key] = redact(value)
        elif value is None or isinstance(value, bool):
            out[key] = value
        elif isinstance(value, (int, float)):
            text = str(value)  # a phone or card number passed as a number (9 digits at least)
            masked = redact(text) if len(text) >= 9 else text
            out[key] = value if masked == text else masked
        else:
            return None
    return out


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    """Route chatkiosk's and uvicorn's logs through one scrubbing handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our own access log carries the route template and request id; uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
