"""The request body of `POST /v1/chat/completions`, as OpenAI defines it (the part we serve).

For a passthrough model the client's fields (`n`, `response_format`, `seed`, `logprobs`, `user`,
tool `strict`, `max_completion_tokens`, image parts, …) are forwarded as sent (`forwarded`).
Fields that would choose where or how the server calls its upstream (`base_url`, `api_base`,
`api_key`, …) are refused (400), so a client can never point the server's provider keys at a
host of its choosing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from chatkiosk.jsontypes import JsonBool, JsonFloat, json_int
from chatkiosk.llm.base import Message, ToolSpec

# Normalised (lower case, no `_`/`-`/`.`) names of body fields a client may not set.
_UPSTREAM_WORDS = ("url", "apibase", "baseapi", "endpoint", "host", "proxy", "upstream", "apikey", "provider", "header")


def upstream_field(name: str) -> bool:
    """True for a field name that would choose the upstream, its key or its headers."""
    key = re.sub(r"[_\-. ]", "", name.lower())
    return any(word in key for word in _UPSTREAM_WORDS)


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Open):
    name: str = Field(min_length=1, max_length=64)
    arguments: str = Field("", max_length=100_000)


class ToolCallIn(_Open):
    id: str = Field(min_length=1, max_length=128)
    type: Literal["function"] = "function"
    function: FunctionCall


# What `_known_parts` accepts, said in the schema: text parts, and image parts (relayed to a
# passthrough model as sent; for an agent that takes photos, the last user message's `data:` URLs).
_CONTENT_SCHEMA = {"anyOf": [
    {"type": "string"},
    {"type": "array", "items": {"anyOf": [
        {"type": "object", "required": ["type", "text"], "properties": {"type": {"const": "text"}, "text": {"type": "string"}}},
        {"type": "object", "required": ["type", "image_url"], "properties": {
            "type": {"const": "image_url"},
            "image_url": {"type": "object", "required": ["url"], "properties": {
                "url": {"type": "string", "description": "agents: a data: URL (data:image/jpeg;base64,…); no other URL is fetched"},
                "detail": {"type": "string"}}}}},
    ]}},
    {"type": "null"},
]}


class ChatMessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str | list[dict[str, Any]] | None, WithJsonSchema(_CONTENT_SCHEMA)] = None
    name: str | None = Field(None, max_length=64)
    tool_calls: list[ToolCallIn] | None = Field(None, max_length=128)
    tool_call_id: str | None = Field(None, max_length=128)

    @field_validator("content")
    @classmethod
    def _known_parts(cls, value: Any) -> Any:
        if isinstance(value, list):
            for part in value:
                kind = part.get("type")
                if kind == "text" and isinstance(part.get("text"), str):
                    continue
                if kind == "image_url" and isinstance(part.get("image_url"), dict) and isinstance(part["image_url"].get("url"), str):
                    continue
                raise ValueError("content parts are {\"type\": \"text\", \"text\": ...} or {\"type\": \"image_url\", \"image_url\": {\"url\": ...}}")
        return value

    @property
    def has_images(self) -> bool:
        return isinstance(self.content, list) and any(part.get("type") != "text" for part in self.content)

    def image_urls(self) -> list[str]:
        """The URLs of the image parts, in order."""
        if not isinstance(self.content, list):
            return []
        return [part["image_url"]["url"] for part in self.content if part.get("type") == "image_url"]

    def text(self) -> str:
        """The content as one string (text parts joined)."""
        if isinstance(self.content, list):
            return "".join(part["text"] for part in self.content if part.get("type") == "text")
        return self.content or ""

    def upstream(self) -> Message:
        """The message as it is relayed to a passthrough model (image parts as sent)."""
        content = self.content if self.has_images or self.content is None else self.text()
        message: Message = {"role": self.role, "content": content}
        if self.name:
            message["name"] = self.name
        if self.tool_calls:
            message["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        if self.tool_call_id:
            message["tool_call_id"] = self.tool_call_id
        return message


class FunctionDef(_Open):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = Field("", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolIn(_Open):
    type: Literal["function"]
    function: FunctionDef

    def spec(self) -> ToolSpec:
        return ToolSpec(self.function.name, self.function.description, self.function.parameters)


class NamedToolChoice(_Open):
    type: Literal["function"]
    function: dict[str, str]


class ResponseFormat(_Open):
    """`text`, `json_object`, or `json_schema` with its `{name, schema, strict}`."""

    model_config = ConfigDict(extra="allow")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


# Fields relayed to a passthrough upstream as the client sent them (`tools` too, see `forwarded`).
FORWARDED = (
    "n", "response_format", "seed", "logprobs", "top_logprobs", "parallel_tool_calls", "user",
    "max_completion_tokens", "reasoning_effort",
)


class StreamOptions(_Open):
    include_usage: JsonBool = False


_Tokens = json_int(ge=1, le=1_000_000)
_ManyAnswers = json_int(ge=1, le=128)


class ChatCompletionRequest(BaseModel):
    """What a client may send; extra fields are kept so that upstream-choosing ones can be refused."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=128)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=1000)
    stream: JsonBool = False  # JSON types: `"yes"` or `1` is no boolean, `true` no number
    stream_options: StreamOptions | None = None
    temperature: JsonFloat | None = Field(None, ge=0, le=2)
    top_p: JsonFloat | None = Field(None, gt=0, le=1)
    max_tokens: _Tokens | None = None
    max_completion_tokens: _Tokens | None = None
    stop: str | list[str] | None = None
    presence_penalty: JsonFloat | None = Field(None, ge=-2, le=2)
    frequency_penalty: JsonFloat | None = Field(None, ge=-2, le=2)
    n: _ManyAnswers | None = Field(None, description="agents give one answer: only 1 for them; passthrough models relay every choice")
    tools: list[ToolIn] | None = Field(None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: JsonBool | None = None
    metadata: dict[str, str] | None = Field(None, max_length=16)
    response_format: ResponseFormat | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    user: str | None = Field(None, max_length=256)
    reasoning_effort: str | None = Field(None, max_length=32)

    def forwarded(self) -> dict[str, Any]:
        """The client's own fields a passthrough upstream gets as they were sent."""
        fields = self.model_dump(include=set(FORWARDED), exclude_unset=True, exclude_none=True)
        if self.tools:
            fields["tools"] = [t.model_dump(exclude_unset=True) for t in self.tools]
        return fields

    def refused_field(self) -> str | None:
        """The first field (top level or in `metadata`) that would choose the upstream."""
        for name in [*(self.model_extra or {}), *(f"metadata.{k}" for k in (self.metadata or {}))]:
            if upstream_field(name.removeprefix("metadata.")):
                return name
        return None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def completion_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens
