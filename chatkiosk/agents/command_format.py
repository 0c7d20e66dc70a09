"""The JSON command format: tools for models without native tool calling.

The tools are described in the system prompt and the model answers either plain text or
`{"tool": ..., "arguments": {...}}` — or a JSON list of such objects, run in order. The
answer's shape is also given as a JSON schema (`command_schema`) that a provider able to
constrain decoding (llama.cpp grammars) enforces, so every answer parses: it is either text
or commands whose tool names and argument shapes are those of the schema. Arguments are still
validated by the tool, and a bad command is refused as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from chatkiosk.agents.tools import Tool, ToolContext
from chatkiosk.llm.base import Message, ToolSpec
from chatkiosk.llm.grammars import decodable

Commands = Iterable[Tool | ToolSpec]
"""The tools a command may name: an agent's registry, and the client's own tools beside it."""

COMMAND_SHAPE = '{"tool": "<tool name>", "arguments": {...}}'
_FENCE = re.compile(r"^```[ \t]*([A-Za-z]*)[ \t]*\n?(.*?)\n?[ \t]*```\s*$", re.S)


def command_prompt(tools: Commands, *, compact: bool = False) -> str:
    """The system-prompt section that teaches a model without tool calling to use tools.

    Each tool's arguments are given as their JSON schema, or (`compact`, for small context
    windows, where decoding is constrained to the schema anyway) as a one-line signature.
    """
    lines = [
        "You can use tools. To use one, reply with exactly one JSON object and nothing else:",
        COMMAND_SHAPE,
        "For several steps at once, reply with a JSON list of such objects. "
        "You will then get the tools' results. If no tool is needed, answer in plain text.",
        "",
        "Tools:",
    ]
    for t in tools:
        if compact:
            lines.append(f"- {t.name}({signature(t.parameters)}): {t.description}")
        else:
            schema = json.dumps(t.parameters, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"- {t.name}: {t.description}\n  arguments schema: {schema}")
    return "\n".join(lines)


def _type(schema: dict[str, Any]) -> str:
    alternatives = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if alternatives:
        schema = alternatives[0]
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        return "|".join(values) if len(values) <= 4 else "string"
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict) and schema["properties"]:
        return "{" + ", ".join(schema["properties"]) + "}"
    return str(schema.get("type", "any"))


def signature(parameters: dict[str, Any]) -> str:
    """A tool's arguments in one short line: `item_id: string, quantity?: integer (how many)`."""
    required = set(parameters.get("required", []))
    parts = []
    for name, schema in (parameters.get("properties") or {}).items():
        if not isinstance(schema, dict):
            continue
        note = schema.get("description")
        parts.append(f"{name}{'' if name in required else '?'}: {_type(schema)}" + (f" ({note})" if note else ""))
    return ", ".join(parts)


# Left out of the decoding schema: titles and defaults say nothing to a grammar, and string
# lengths become one grammar rule per character (maxLength 100000 crashed llama.cpp).
# Arguments are still validated against the full schema.
_NOT_DECODED = ("title", "default", "minLength", "maxLength")


def _compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The argument schema for decoding: without titles, defaults and string lengths."""
    if isinstance(schema, dict):
        return {
            k: {name: _compact_schema(sub) for name, sub in v.items()} if k == "properties" and isinstance(v, dict) else _compact_schema(v)
            for k, v in schema.items() if k not in _NOT_DECODED  # a property may be called `title`
        }
    if isinstance(schema, list):
        return [_compact_schema(v) for v in schema]
    return schema


def _decoding(tool: Tool | ToolSpec, ctx: ToolContext | None) -> dict[str, Any]:
    """The arguments' schema to decode a tool's call with: this turn's, the tool's tighter one, or its own."""
    per_turn = getattr(tool, "decoding_for", None)
    schema = per_turn(ctx) if per_turn is not None and ctx is not None else None
    return schema or getattr(tool, "decoding_schema", None) or tool.parameters


def command_schema(tools: Commands, ctx: ToolContext | None = None) -> dict[str, Any]:
    """The JSON schema of a command answer: one command object, or a non-empty list of them.

    Argument schemas are made decodable (their `$ref`s inlined: a client's schema has its own);
    with `ctx`, a tool may narrow its schema to the turn (`Tool.decoding_for`)."""
    one = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"tool": {"const": t.name}, "arguments": decodable(_compact_schema(_decoding(t, ctx)))},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
            for t in tools
        ]
    }
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 6}]}


def _decode(text: str) -> tuple[Any, str | None, bool]:
    """(value, error, looked like JSON) of a reply, fences allowed."""
    s = text.strip()
    if s.startswith("```"):
        fence = _FENCE.match(s)
        if fence is None or fence.group(1).lower() not in ("", "json"):
            return None, None, False
        s = fence.group(2).strip()
    if not s.startswith(("{", "[")):
        return None, None, False
    try:
        value, _end = json.JSONDecoder().raw_decode(s)  # text after the value is ignored
    except ValueError as exc:
        return None, f"the reply is not valid JSON ({exc})", True
    return value, None, True


def _one(value: Any) -> tuple[tuple[str, dict[str, Any]] | None, str | None]:
    if not isinstance(value, dict) or not isinstance(value.get("tool"), str):
        return None, f"a tool command must look like {COMMAND_SHAPE}"
    arguments = value.get("arguments", {})
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return None, '"arguments" must be a JSON object'
    return (value["tool"], arguments), None


def parse_command(text: str) -> tuple[tuple[str, dict[str, Any]] | None, str | None]:
    """Read a reply as one tool command: `((name, arguments), None)`, `(None, error)` for a
    command that cannot be used, or `(None, None)` for plain text."""
    value, error, looked = _decode(text)
    if not looked:
        return None, None
    if error is not None:
        return None, error
    return _one(value)


def parse_commands(text: str) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """Read a reply as commands: one object or a list of them. `([], None)` is plain text."""
    value, error, looked = _decode(text)
    if not looked:
        return [], None
    if error is not None:
        return [], error
    items = value if isinstance(value, list) else [value]
    if not items:
        return [], "the list of commands is empty"
    commands = []
    for item in items:
        command, error = _one(item)
        if command is None:
            return [], error
        commands.append(command)
    return commands, None


def to_command_messages(messages: list[Message], tools: Commands, *, compact: bool = False) -> list[Message]:
    """The conversation for a model without tool calling: the command prompt joins the first
    system message, tool calls become the command text and tool results become user text."""
    out: list[Message] = []
    names: dict[str, str] = {}
    tools = list(tools)
    prompt = command_prompt(tools, compact=compact) if tools else None  # none: earlier tool traffic only
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            commands = []
            for call in m["tool_calls"]:
                fn = call.get("function", {})
                names[call.get("id", "")] = fn.get("name", "")
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = fn.get("arguments")
                commands.append({"tool": fn.get("name"), "arguments": args})
            shown = commands[0] if len(commands) == 1 else commands
            text = "\n".join(filter(None, [m.get("content") or "", json.dumps(shown, ensure_ascii=False)]))
            out.append({"role": "assistant", "content": text})
        elif role == "tool":
            name = names.get(m.get("tool_call_id", ""), "tool")
            text = f"Result of tool {name}: {m.get('content', '')}"
            if compact:  # small models call the same tool again unless told what comes next
                text += "\nUse this result to answer the user in plain text now, unless another tool is needed."
            out.append({"role": "user", "content": text})
        else:
            out.append({k: v for k, v in m.items() if k in ("role", "content")})
    if prompt is None:
        return out
    if out and out[0].get("role") == "system":
        out[0] = {"role": "system", "content": f"{out[0].get('content') or ''}\n\n{prompt}".lstrip()}
    else:
        out.insert(0, {"role": "system", "content": prompt})
    return out


def starts_command(text: str) -> bool | None:
    """Whether a reply that begins with `text` may be a command (None: cannot tell yet)."""
    s = text.lstrip()
    if not s:
        return None
    if s[0] in "{[":
        return True
    if s[0] == "`":
        return True if s.startswith("```") else (None if "```".startswith(s) else False)
    return False
