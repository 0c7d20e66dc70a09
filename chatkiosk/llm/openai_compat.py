"""Any OpenAI-compatible chat completions server: OpenAI, vLLM, Ollama, llama.cpp server, ...

They differ only by base URL, key and model name, so one class serves them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import orjson

from ..errors import UpstreamError
from ._http import Deadlines, StreamClient, StreamRequest, http_client, post_json, sse_events

_DRAIN_SECONDS = 0.5
from .base import (
    ChoicePiece,
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

_OPTION_FIELDS = ("temperature", "top_p", "max_tokens", "stop", "presence_penalty", "frequency_penalty", "response_format")


class OpenAICompatProvider:
    """`POST {base_url}/chat/completions`, streamed (SSE) or not."""

    supports_tools = True
    supports_response_format = True

    def __init__(self, cfg: ProviderConfig, *, client: httpx.AsyncClient | None = None) -> None:
        if not cfg.base_url:
            raise ValueError(f"provider {cfg.name!r}: an OpenAI-compatible provider needs base_url")
        self.cfg = cfg
        self.name = cfg.name
        self.base_url = cfg.base_url.rstrip("/")
        self.supports_images = cfg.sees_images  # image parts are sent as OpenAI defines them
        self._client = client or http_client(cfg)
        self._streams = StreamClient(cfg)
        self._stream_url = f"{self.base_url}/chat/completions"

    # --- requests --------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        # The key is attached per request to a URL built from base_url (and redirects are
        # off), so it can only ever reach the configured host.
        headers = {"Accept": "application/json"}
        if self.cfg.api_key is not None:
            headers["Authorization"] = f"Bearer {self.cfg.api_key.get_secret_value()}"
        return headers

    def _body(
        self,
        messages: list[Message],
        tools: list[ToolSpec] | None,
        options: GenerationOptions,
        stream: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": options.model or self.cfg.model, "messages": messages}
        for field in _OPTION_FIELDS:
            value = getattr(options, field)
            if value is not None:
                body[field] = value
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
            if options.tool_choice is not None:
                body["tool_choice"] = options.tool_choice
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _stream_request(self, body: dict[str, Any]) -> StreamRequest:
        """A request for the aiohttp session (streamed, or whole with `post_json`)."""
        headers = {"accept": "application/json", "content-type": "application/json"}
        if self.cfg.api_key is not None:
            headers["authorization"] = f"Bearer {self.cfg.api_key.get_secret_value()}"
        return StreamRequest(self._stream_url, headers, orjson.dumps(body))

    def _deadlines(self) -> Deadlines:
        return Deadlines(self.name, self.cfg.first_token_timeout, self.cfg.total_timeout)

    # --- Provider --------------------------------------------------------------------

    async def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Stream the answer as pieces; see `Provider.stream`."""
        deadlines = self._deadlines()
        request = self._stream_request(self._body(messages, tools, options, stream=True))
        finished = done = False
        try:
            async with aclosing(sse_events(self._streams, request, deadlines)) as events:
                async for _event, data in events:
                    if done:
                        continue
                    if data[:1] != b"{" and data.strip() == b"[DONE]":  # a chunk is a JSON object
                        # Read on to the end of the body (a few bytes) so the connection goes
                        # back to the pool instead of being closed; bounded in time.
                        finished = done = True
                        deadlines.drain(_DRAIN_SECONDS)
                        continue
                    for piece in self._chunk_pieces(data, deadlines):
                        if isinstance(piece, Finish) or (isinstance(piece, ChoicePiece) and isinstance(piece.piece, Finish)):
                            finished = True
                        yield piece
        except UpstreamError:
            if not done:
                raise
        if not finished:
            raise UpstreamError(
                f"LLM provider {self.name!r} ended the stream before it was complete",
                code="upstream_disconnected",
                retryable=True,
            )

    def _chunk_pieces(self, data: bytes, deadlines: Deadlines) -> list[StreamPiece]:
        chunk = self._parse(data)
        if "error" in chunk:
            raise UpstreamError(
                f"LLM provider {self.name!r} failed mid-stream: {str(chunk['error'])[:300]}",
                retryable=True,
            )
        pieces = _pieces(chunk)
        if not deadlines.started and any(isinstance(p, (TextDelta, ToolCallDelta, ChoicePiece)) for p in pieces):
            deadlines.mark_started()
        return pieces

    def _parse(self, data: bytes) -> dict[str, Any]:
        try:
            chunk = orjson.loads(data)
        except ValueError as exc:
            raise UpstreamError(
                f"LLM provider {self.name!r} sent a stream chunk that is not JSON",
                retryable=True,
            ) from exc
        if not isinstance(chunk, dict):
            raise UpstreamError(f"LLM provider {self.name!r} sent a malformed stream chunk")
        return chunk

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """One non-streamed call; the total timeout bounds it."""
        deadlines = self._deadlines()
        deadlines.mark_started()  # nothing arrives before the whole answer
        request = self._stream_request(self._body(messages, tools, options, stream=False))
        data = await post_json(self._streams, request, deadlines)
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            tool_calls = [
                ToolCall(
                    id=tc.get("id") or f"call_{i}",
                    name=tc["function"]["name"],
                    arguments=tc["function"].get("arguments") or "{}",
                )
                for i, tc in enumerate(message.get("tool_calls") or [])
            ]
            return Completion(
                text=message.get("content") or "",
                tool_calls=tool_calls,
                usage=_usage(data.get("usage")) or Usage(),
                finish_reason=choice.get("finish_reason") or "stop",
                model=data.get("model") or "",
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(
                f"LLM provider {self.name!r} answered in an unexpected shape ({exc!r})",
                retryable=True,
            ) from exc

    def count_tokens(self, text: str) -> int:
        """An estimate (see `estimate_tokens`): the upstream's tokenizer is not at hand."""
        return estimate_tokens(text)

    async def check(self) -> bool:
        """GET {base_url}/models with a short timeout; never raises."""
        try:
            response = await self._client.get(
                f"{self.base_url}/models",
                headers=self._headers(),
                timeout=min(self.cfg.connect_timeout, 5.0),
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


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
    )


def _pieces(chunk: dict[str, Any]) -> list[StreamPiece]:
    """The pieces in one `chat.completion.chunk`; a choice other than the first, or one with
    `logprobs`, comes wrapped in a `ChoicePiece` (only passthrough asks for those)."""
    pieces: list[StreamPiece] = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        index, logprobs = choice.get("index") or 0, choice.get("logprobs")
        own: list[TextDelta | ToolCallDelta | Finish] = []
        if delta.get("content"):
            own.append(TextDelta(delta["content"]))
        for tc in delta.get("tool_calls") or []:
            function = tc.get("function") or {}
            own.append(
                ToolCallDelta(
                    index=int(tc.get("index", 0)),
                    id=tc.get("id"),
                    name=function.get("name"),
                    arguments=function.get("arguments") or "",
                )
            )
        if choice.get("finish_reason"):
            own.append(Finish(choice["finish_reason"]))
        if index == 0 and logprobs is None:
            pieces.extend(own)
        else:
            if logprobs is not None and not own:
                own.append(None)  # type: ignore[arg-type]  # logprobs alone
            pieces.extend(ChoicePiece(index, p, logprobs if n == 0 else None) for n, p in enumerate(own))
    usage = _usage(chunk.get("usage"))
    if usage is not None:
        pieces.append(UsageReport(usage))
    return pieces

