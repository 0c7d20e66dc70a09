"""Reading a JSON document a client sent (a request body, a WebSocket frame), safely.

`json.loads` alone lets two kinds of input through to places that fail with a 500 later:
nesting deep enough to exhaust the recursion limit (`RecursionError` in the parser, or later
when the body is encoded for an upstream), and lone UTF-16 surrogates (`"\\ud800"` is valid
JSON but no valid text: encoding it for the upstream or the database fails). Both are the
caller's mistake and are answered as such here, before anything acts on the document.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from chatkiosk.errors import UserError, ValidationFailed

MAX_DEPTH = 64  # arrays and objects inside one another; real requests stay far below
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse_json(raw: bytes | str, *, unprocessable: type[UserError] = ValidationFailed) -> Any:
    """The document in `raw`, or a `UserError`: 400 `invalid_json` for bad or too deep JSON,
    `unprocessable` (default 422) `invalid_unicode` for a string that is not valid text."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if nesting_depth(data) > MAX_DEPTH:
        raise UserError(f"JSON nested deeper than {MAX_DEPTH} levels", code="invalid_json")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise UserError("the body must be valid JSON", code="invalid_json") from None
    if _SURROGATE_ESCAPE.search(data):
        where = _invalid_text(document, [])
        if where is not None:
            param = ".".join(where) or None
            raise unprocessable(
                f"{param or 'the body'}: a string holds a lone UTF-16 surrogate, which is not valid text",
                code="invalid_unicode", param=param,
            )
    return document


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest in the JSON text `data` (strings do not count)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the brackets it has
    brackets = re.sub(rb"[^\[\]{}]", b"", _STRING.sub(b"", data))
    return max(accumulate(1 if b in (91, 123) else -1 for b in brackets), default=0)


def _invalid_text(value: Any, path: list[str]) -> list[str] | None:
    """The path of the first string (key or value) that cannot be encoded as UTF-8."""
    if isinstance(value, str):
        return None if _encodable(value) else path
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _invalid_text(item, [*path, str(i)])
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(key):
                return [*path, "<key>"]
            found = _invalid_text(item, [*path, key])
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_integers(value: Any) -> Any:
    """`value` with integral floats (`2.0`) as ints: JSON has one number type, and JSON Schema
    calls 2.0 an integer, so strict validation must see it as one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [json_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: json_integers(v) for k, v in value.items()}
    return value
