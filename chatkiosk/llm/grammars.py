"""llama.cpp grammars for constrained decoding: the shape of one answer of the local model.

An answer may take up to three shapes, and the grammar admits exactly those:

- commands: JSON of the command schema (the agent's tools and the client's, see
  agents/command_format.py), the only shape when a tool call is forced (`tool_choice`);
- a structured answer: JSON of the client's `response_format` (`json_object`: any object;
  `json_schema`: that schema);
- prose: plain text that does not start like JSON or a code fence (when no structured answer
  is asked for).

Schemas are made decodable first (`decodable`): local `$ref`s inlined (a recursive one ends
in "any JSON value"), keywords a grammar cannot hold dropped (titles, defaults, long string
lengths: each character would be one rule), and parts llama.cpp's converter does not know
(`not`, `if`/`then`) become "any JSON value". What the grammar does not enforce (numeric
bounds) is left to validation: tool arguments are validated by the tool.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

# Plain text may not start like JSON or a code fence; then anything goes.
PROSE_RULE = "prose ::= [^{\\[`\\x00 \\t\\r\\n] [^\\x00]*"
_JSON_RULE = "ck-json"  # our name for the converter's root (property names never carry the prefix)

# Keywords llama.cpp's schema converter turns into grammar; any other is dropped.
_KNOWN = {
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
    "anyOf", "oneOf", "allOf", "enum", "const", "pattern", "format", "minLength", "maxLength",
}
_SCHEMA_VALUED = {"additionalProperties", "items"}
_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
MAX_DECODED_LENGTH = 64  # string lengths above this are dropped (one grammar rule per character)
ANY_VALUE: dict[str, Any] = {"type": "value"}  # the converter's "any JSON value" (`{}` would be an object)


class _Refs:
    """Local `$ref`s of one schema (`#/$defs/…`, `#/definitions/…`, any `#/…` pointer)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def target(self, ref: str) -> dict[str, Any] | None:
        if not ref.startswith("#"):
            return None  # a remote schema is never fetched
        node: Any = self.root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node if isinstance(node, dict) else None


def decodable(schema: Any) -> dict[str, Any]:
    """`schema` as llama.cpp's converter can hold it (see the module docstring)."""
    if not isinstance(schema, dict):
        return dict(ANY_VALUE)
    return _visit(schema, _Refs(schema), ())


def _visit(schema: Any, refs: _Refs, path: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return dict(ANY_VALUE)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = refs.target(ref)
        if target is None or ref in path or len(path) > 16:
            return dict(ANY_VALUE)  # remote, broken or recursive: any value here, validated later
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _visit(merged, refs, (*path, ref))
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _KNOWN:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _visit(sub, refs, path) for name, sub in value.items()}
        elif key in _SCHEMA_VALUED:
            out[key] = value if isinstance(value, bool) else _visit(value, refs, path)
        elif key in _LISTS and isinstance(value, list):
            out[key] = [_visit(sub, refs, path) for sub in value]
        elif key in ("minLength", "maxLength"):
            if isinstance(value, int) and value <= MAX_DECODED_LENGTH:
                out[key] = value
        else:
            out[key] = value
    if "maxLength" not in out:
        out.pop("minLength", None)
    all_of = out.pop("allOf", None)
    if all_of:
        if len(all_of) == 1 and "properties" not in out:
            out = {**all_of[0], **out}  # pydantic's `allOf: [{$ref}]` beside a description
        else:
            out["allOf"] = all_of
    return out or dict(ANY_VALUE)


def response_schema(response_format: dict[str, Any]) -> dict[str, Any]:
    """The schema of the answer a client's `response_format` asks for (json_object: an object)."""
    if response_format.get("type") == "json_schema":
        inner = response_format.get("json_schema") or {}
        schema = decodable(inner.get("schema"))
        return schema if schema != ANY_VALUE else {"type": "object"}
    return {"type": "object"}


def schema_gbnf(schema: dict[str, Any]) -> str:
    """The converter's GBNF for `schema` (a decodable one), its root renamed to ours."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf = json_schema_to_gbnf(json.dumps(schema))
    except Exception:  # a pattern or construct the converter cannot take: any value of its type
        fallback = {"type": schema["type"]} if isinstance(schema.get("type"), str) else dict(ANY_VALUE)
        gbnf = json_schema_to_gbnf(json.dumps(fallback))
    return re.sub(r"^root ::=", f"{_JSON_RULE} ::=", gbnf, flags=re.M)


def answer_grammar(*, commands: dict[str, Any] | None = None, answer: dict[str, Any] | None = None, prose: bool = True) -> str:
    """GBNF for an answer that is commands, a structured answer, or prose (any of them given).

    `commands` is the command schema, `answer` the schema of a structured answer (its presence
    rules out prose); with neither, the answer is prose.
    """
    alternatives = [s for s in (commands, answer) if s is not None]
    if not alternatives:
        return "root ::= prose\n" + PROSE_RULE
    schema = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    rules = schema_gbnf(schema)
    if prose and answer is None:
        return f"root ::= {_JSON_RULE} | prose\n{PROSE_RULE}\n{rules}"
    return f"root ::= {_JSON_RULE}\n{rules}"


def fallback_grammar(prose: bool) -> str:
    """The generic shape when a schema's grammar cannot be used: any JSON object (or prose)."""
    if prose:
        return answer_grammar(commands={"type": "object"}, prose=True)
    return answer_grammar(answer={"type": "object"}, prose=False)


def grammar_for(
    *, command_schema: dict[str, Any] | None, response_format: dict[str, Any] | None, text_only: bool, forced: bool,
) -> tuple[str, bool] | None:
    """The grammar of one call and whether its answer may be prose (None: decoding is free).

    `text_only` rules commands out (the answer after a small model's tools ran); `forced`
    (a tool call the client required) rules everything but commands out. The last few
    grammars are kept: a conversation asks for the same shapes turn after turn.
    """
    if command_schema is None and response_format is None and not text_only:
        return None
    key = json.dumps([command_schema, response_format, text_only, forced], sort_keys=True)
    return _grammar_for(key)


@functools.lru_cache(maxsize=64)
def _grammar_for(key: str) -> tuple[str, bool] | None:
    command_schema, response_format, text_only, forced = json.loads(key)
    commands = command_schema if not text_only else None
    if commands is not None and forced:
        return answer_grammar(commands=commands, prose=False), False
    answer = response_schema(response_format) if response_format is not None else None
    if commands is None and answer is None and not text_only:
        return None
    prose = answer is None
    return answer_grammar(commands=commands, answer=answer, prose=prose), prose
