"""Anthropic's Messages API, translated to and from the OpenAI-style messages we keep."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from ..errors import UpstreamError
from ._http import Deadlines, StreamClient, http_client, send_json, sse_events
from .base import (
    Completion,
    Finish,
    GenerationOptions,
    Message,
    StreamPiece,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageReport,
    estimate_tokens,
)
from .config import ProviderConfig

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 1024  # the Messages API requires max_tokens
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def to_anthropic(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Split out the system prompt and turn OpenAI-style messages into Anthropic ones.

    Tool results become `tool_result` blocks of a user turn, assistant tool calls become
    `tool_use` blocks, and consecutive turns of one role are merged (the API wants them
    alternating).
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        role, content = m.get("role"), m.get("content") or ""
        if role == "system":
            system.append(content)
        elif role == "tool":
            add("user", [{"type": "tool_result", "tool_use_id": m.get("tool_call_id") or "", "content": content}])
        elif role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
            for tc in m.get("tool_calls") or []:
                function = tc.get("function") or {}
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                blocks.append({"type": "tool_use", "id": tc.get("id"), "name": function.get("name"), "input": arguments})
            if blocks:
                add("assistant", blocks)
        elif isinstance(content, list):
            add("user", [_block(part) for part in content])
        else:
            add("user", [{"type": "text", "text": content}])
    return "\n\n".join(system), out


def _block(part: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI content part as an Anthropic block: text, or a data: URL image as base64."""
    if part.get("type") != "image_url":
        return {"type": "text", "text": str(part.get("text") or "")}
    head, _, data = str((part.get("image_url") or {}).get("url") or "").partition(",")
    media_type = head.removeprefix("data:").split(";")[0] or "image/png"
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


class AnthropicProvider:
    """`POST {base_url}/v1/messages` with `x-api-key` and `anthropic-version`."""

    supports_tools = True

    def __init__(self, cfg: ProviderConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.supports_images = cfg.sees_images  # image parts become base64 `image` blocks
        base = (cfg.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = base if base.endswith("/v1") else f"{base}/v1"
        self._client = client or http_client(cfg)
        self._streams = StreamClient(cfg)

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION, "content-type": "application/json"}
        if self.cfg.api_key is not None:
            headers["x-api-key"] = self.cfg.api_key.get_secret_value()
        return headers

    def _request(
        self, messages: list[Message], tools: list[ToolSpec] | None, options: GenerationOptions, stream: bool
    ) -> httpx.Request:
        system, turns = to_anthropic(messages)
        body: dict[str, Any] = {
            "model": options.model or self.cfg.model,
            "messages": turns,
            "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.stop:
            body["stop_sequences"] = options.stop
        if tools:
            body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools]
            if options.tool_choice is not None:
                body["tool_choice"] = anthropic_tool_choice(options.tool_choice)
        if stream:
            body["stream"] = True
        return self._client.build_request("POST", f"{self.base_url}/messages", json=body, headers=self._headers())

    def _deadlines(self) -> Deadlines:
        return Deadlines(self.name, self.cfg.first_token_timeout, self.cfg.total_timeout)

    async def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Stream the answer; see `Provider.stream`."""
        deadlines = self._deadlines()
        request = self._request(messages, tools, options, stream=True)
        usage = Usage()
        tool_index: dict[int, int] = {}  # content block index -> tool call index
        finished = False
        async with aclosing(sse_events(self._streams, request, deadlines)) as events:
            async for event, data in events:
                try:
                    payload = json.loads(data)
                except ValueError as exc:
                    raise UpstreamError(f"LLM provider {self.name!r} sent an event that is not JSON", retryable=True) from exc
                kind = payload.get("type", event)
                piece: StreamPiece | None = None
                if kind == "message_start":
                    usage.prompt_tokens = int(payload["message"].get("usage", {}).get("input_tokens") or 0)
                elif kind == "content_block_start":
                    block = payload.get("content_block") or {}
                    if block.get("type") == "tool_use":
                        tool_index[payload["index"]] = len(tool_index)
                        piece = ToolCallDelta(tool_index[payload["index"]], id=block.get("id"), name=block.get("name"))
                    elif block.get("text"):
                        piece = TextDelta(block["text"])
                elif kind == "content_block_delta":
                    delta = payload.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        piece = TextDelta(delta["text"])
                    elif delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                        index = tool_index.get(payload.get("index"), 0)
                        piece = ToolCallDelta(index, arguments=delta["partial_json"])
                elif kind == "message_delta":
                    usage.completion_tokens = int((payload.get("usage") or {}).get("output_tokens") or 0)
                    reason = (payload.get("delta") or {}).get("stop_reason")
                    if reason:
                        yield Finish(_STOP_REASONS.get(reason, reason))
                elif kind == "message_stop":
                    finished = True
                    yield UsageReport(usage)
                    break
                elif kind == "error":
                    error = payload.get("error") or {}
                    raise UpstreamError(
                        f"LLM provider {self.name!r} failed mid-stream: {error.get('message', 'unknown error')}",
                        retryable=error.get("type") in ("overloaded_error", "api_error", "rate_limit_error"),
                    )
                if piece is not None:
                    deadlines.mark_started()
                    yield piece
        if not finished:
            raise UpstreamError(
                f"LLM provider {self.name!r} ended the stream before it was complete",
                code="upstream_disconnected",
                retryable=True,
            )

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """One non-streamed call; the total timeout bounds it."""
        deadlines = self._deadlines()
        deadlines.mark_started()
        data = await send_json(self._client, self._request(messages, tools, options, stream=False), deadlines)
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in data.get("content") or []:
            if block.get("type") == "text":
                text.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                calls.append(ToolCall(block.get("id", ""), block.get("name", ""), json.dumps(block.get("input") or {})))
        raw = data.get("usage") or {}
        return Completion(
            text="".join(text),
            tool_calls=calls,
            usage=Usage(int(raw.get("input_tokens") or 0), int(raw.get("output_tokens") or 0)),
            finish_reason=_STOP_REASONS.get(data.get("stop_reason") or "end_turn", "stop"),
            model=data.get("model") or "",
        )

    def count_tokens(self, text: str) -> int:
        """An estimate (see `estimate_tokens`)."""
        return estimate_tokens(text)

    async def check(self) -> bool:
        """GET {base_url}/v1/models with a short timeout; never raises."""
        try:
            response = await self._client.get(
                f"{self.base_url}/models", headers=self._headers(), timeout=min(self.cfg.connect_timeout, 5.0)
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def warm(self) -> None:
        """Make the stream session now (at start), not on the first turn."""
        await self._streams.warm()

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self._streams.aclose()
        await self._client.aclose()


def anthropic_tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    """OpenAI's forced `tool_choice` in Anthropic's words: any tool, or the one named."""
    if isinstance(choice, dict):
        return {"type": "tool", "name": str((choice.get("function") or {}).get("name") or "")}
    return {"type": "any"}
