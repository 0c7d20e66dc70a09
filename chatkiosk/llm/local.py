"""A small model run in-process by llama.cpp (the embedded default, see `models`).

llama.cpp blocks, so generation runs in one worker thread per provider; pieces cross to the
event loop through an asyncio queue. The single-thread executor is the lock: one generation
at a time per model, the next waits its turn (its first-token deadline counts the wait).

Made for a small shared machine: OpenMP threads sleep instead of spinning between tokens
(`OMP_WAIT_POLICY=PASSIVE`, set before llama.cpp loads), one thread a core; the evaluated
prompt is kept in a RAM prefix cache so a turn evaluates only the tokens after the longest
prefix seen before (the fixed system prompt is evaluated once); a repeat penalty and an
n-gram loop guard stop repetition early; answers are capped at `max_output_tokens`. The
provider knows its window (`context_window`); a prompt that does not fit is a
`ContextOverflow` saying so. Decoding is constrained with a llama.cpp grammar (grammars.py):
a `command_schema` makes the answer plain text or JSON of exactly that schema (only the JSON
when `tool_choice` forces a call), a `response_format` makes it JSON of that schema (or any
JSON object), with commands beside it when tools are offered.
"""

from __future__ import annotations

import os

# Before llama.cpp's OpenMP runtime starts: spinning waiters starve a busy 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import asyncio  # noqa: E402
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ContextOverflow, UpstreamError
from ._http import Deadlines
from .base import (
    Completion,
    Finish,
    GenerationOptions,
    Message,
    StreamPiece,
    TextDelta,
    ToolSpec,
    Usage,
    UsageReport,
    estimate_tokens,
)
from .config import ProviderConfig
from .grammars import answer_grammar, fallback_grammar, grammar_for

log = logging.getLogger("chatkiosk.llm")

DEFAULT_MAX_TOKENS = 256  # llama.cpp would otherwise generate until the context is full
REPEAT_PENALTY = 1.1
PROMPT_CACHE_BYTES = 256 << 20
LOOP_TAIL_CHARS = 48  # the answer's last characters, seen this many times: a loop
LOOP_REPEATS = 3
_END = object()


def llama_cpp_available() -> bool:
    """True when llama-cpp-python can be imported."""
    try:
        import llama_cpp  # noqa: F401
    except Exception:  # a broken native build fails with OSError/RuntimeError too
        return False
    return True


class LocalProvider:
    """SmolLM2 (or any chat GGUF) through `llama_cpp.Llama`, loaded lazily once."""

    # Tiny models cannot follow tool schemas; the agent loop uses its JSON command format,
    # whose answers a grammar constrains (the client's tools too, and a forced `tool_choice`).
    supports_tools = False
    supports_response_format = True  # json_object / json_schema: a grammar of that schema
    supports_images = False  # text only: a photo reaches the model as a note (chat/photos.py)

    def __init__(self, cfg: ProviderConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.context_window = cfg.n_ctx
        self.max_output_tokens = cfg.max_output_tokens or DEFAULT_MAX_TOKENS
        self._parsed: set[str] = set()  # grammars llama.cpp parsed (used in the worker thread only)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llm-{cfg.name}")
        self._llama: Any = None
        self._in_flight: set[threading.Event] = set()

    # --- worker thread ---------------------------------------------------------------

    def _load(self) -> Any:
        """Load the model once (in the worker thread)."""
        if self._llama is not None:
            return self._llama
        try:
            import llama_cpp
        except Exception as exc:
            raise UpstreamError(
                f"LLM provider {self.name!r} needs llama-cpp-python: "
                "install chatkiosk[local] or configure another provider",
            ) from exc
        path = self.cfg.resolved_model_path()
        if not path or not Path(path).is_file():
            raise UpstreamError(
                f"LLM provider {self.name!r}: model file {path or '(' + self.cfg.model + ' is not installed)'} "
                f"not found; run `chatkiosk model install {self.cfg.model}` or set CHATKIOSK_LOCAL_MODEL "
                "to a GGUF file",
            )
        llama = open_llama(path, self.cfg.n_ctx, self.cfg.n_threads)
        import llama_cpp

        llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=PROMPT_CACHE_BYTES))
        self._llama = llama
        return llama

    def _generate(
        self,
        messages: list[dict[str, str]],
        kwargs: dict[str, Any],
        emit: Callable[[object], None],
        stop: threading.Event,
    ) -> None:
        """Run one generation, handing pieces to `emit`; stops at the next token after `stop`."""
        try:
            if stop.is_set():
                return  # the caller left while waiting for its turn
            llama = self._load()
            shape = kwargs.pop("grammar", None)
            if shape is not None:
                kwargs["grammar"] = self._checked(llama, shape)
            chunks = llama.create_chat_completion(messages=messages, stream=True, **kwargs)
            produced = 0
            # A JSON answer cut by the loop guard would not parse: only max_tokens bounds it.
            guard = LoopGuard() if shape is None or shape[1] else LoopGuard(repeats=1 << 30)
            try:
                for chunk in chunks:
                    if stop.is_set():
                        return
                    choice = chunk["choices"][0]
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        produced += 1  # llama.cpp streams about one token a chunk
                        emit(TextDelta(text))
                        if guard.looping(text):
                            emit(Finish("stop"))  # the rest would repeat what was said
                            break
                    if choice.get("finish_reason"):
                        emit(Finish(choice["finish_reason"]))
            finally:
                chunks.close()
            # n_tokens is the sequence in the context: the prompt plus what was generated.
            emit(UsageReport(Usage(max(0, llama.n_tokens - produced), produced)))
            emit(_END)
        except ValueError as exc:  # llama.cpp: prompt longer than the context window
            if "context window" in str(exc):
                emit(ContextOverflow(overflow_message(self.cfg.n_ctx, str(exc)), upstream_status=400))
            else:
                emit(UpstreamError(f"LLM provider {self.name!r}: {exc}", upstream_status=400))
        except BaseException as exc:  # everything reaches the caller, nothing is lost in the thread
            emit(exc)

    def _checked(self, llama: Any, shape: tuple[str, bool]) -> Any:
        """The grammar, parsed by llama.cpp once before use: a grammar it refuses would crash
        the sampler, so that one is replaced by the generic JSON shape (logged)."""
        from llama_cpp import LlamaGrammar

        text, prose = shape
        if text not in self._parsed:
            if grammar_parses(llama, text):
                if len(self._parsed) > 256:
                    self._parsed.clear()
                self._parsed.add(text)
            else:
                log.warning("llama.cpp refused a constrained-decoding grammar; the generic JSON one is used")
                text = fallback_grammar(prose)
        return LlamaGrammar.from_string(text, verbose=False)

    def _unload(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    # --- Provider --------------------------------------------------------------------

    async def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Stream the answer; `tools` are ignored (see `supports_tools`)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        deadlines = Deadlines(self.name, self.cfg.first_token_timeout, self.cfg.total_timeout)

        def emit(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is gone: nobody is listening any more
                stop.set()

        self._in_flight.add(stop)
        try:
            kwargs = _llama_kwargs(options, self.max_output_tokens)
            self._executor.submit(self._generate, _plain(messages), kwargs, emit, stop)
        except RuntimeError as exc:  # executor shut down
            self._in_flight.discard(stop)
            raise UpstreamError(f"LLM provider {self.name!r} is closed") from exc
        try:
            while True:
                item = await deadlines.wait(queue.get())
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, TextDelta):
                    deadlines.mark_started()
                yield item  # type: ignore[misc]
        finally:
            stop.set()  # closed, cancelled or timed out: the worker stops at the next token
            self._in_flight.discard(stop)

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """The whole answer, gathered from `stream`."""
        result = Completion(model=self.cfg.model)
        text: list[str] = []
        async for piece in self.stream(messages, options=options):
            if isinstance(piece, TextDelta):
                text.append(piece.text)
            elif isinstance(piece, UsageReport):
                result.usage = piece.usage
            elif isinstance(piece, Finish):
                result.finish_reason = piece.reason
        result.text = "".join(text)
        return result

    async def warm(self, messages: list[Message]) -> None:
        """Evaluate `messages` now (one token generated) so a later prompt that begins the same
        way starts from the saved state: no first-token deadline, since nobody is waiting on it.
        A generation asked for meanwhile waits its turn, as behind any other."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        stop = threading.Event()

        def emit(item: object) -> None:
            if isinstance(item, BaseException) or item is _END:
                loop.call_soon_threadsafe(lambda: done.done() or done.set_result(item))

        self._in_flight.add(stop)
        try:
            self._executor.submit(self._generate, _plain(messages), _llama_kwargs(GenerationOptions(max_tokens=1, temperature=0), 1), emit, stop)
            outcome = await done
        except RuntimeError as exc:  # executor shut down
            raise UpstreamError(f"LLM provider {self.name!r} is closed") from exc
        finally:
            stop.set()
            self._in_flight.discard(stop)
        if isinstance(outcome, BaseException):
            raise outcome

    def count_tokens(self, text: str) -> int:
        """The model's own tokenizer once it is loaded, the shared estimate before."""
        llama = self._llama
        if llama is None:
            return estimate_tokens(text)
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    async def check(self) -> bool:
        """Load the model (once) and report whether that worked."""
        if self._llama is not None:
            return True  # loaded: do not queue behind a generation in flight
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._load)
        except Exception:
            return False
        return True

    async def aclose(self) -> None:
        """Stop generations in flight, free the model and the worker thread."""
        for stop in list(self._in_flight):
            stop.set()
        try:
            unload = self._executor.submit(self._unload)
        except RuntimeError:
            return  # already closed
        self._executor.shutdown(wait=False)
        await asyncio.wrap_future(unload)


# Guards the brief swap of llama.cpp's default model params below (a process-wide function).
_PARAMS_SWAP = threading.Lock()


def open_llama(path: str, n_ctx: int, n_threads: int) -> Any:
    """`llama_cpp.Llama` with llama.cpp's repacked weight buffers turned off.

    The repacked ("extra") buffer types (AMX / AVX-512 kernels) crashed `llama_decode` with
    SIGSEGV on an AMX-capable x86 host with a native build; a 135M model gains little from
    them. `Llama()` has no switch for it, so its default params are wrapped while it loads.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    low_level = llama_module.llama_cpp
    with _PARAMS_SWAP:
        original = low_level.llama_model_default_params

        def params() -> Any:
            p = original()
            if hasattr(p, "use_extra_bufts"):
                p.use_extra_bufts = False
            return p

        low_level.llama_model_default_params = params
        try:
            return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        finally:
            low_level.llama_model_default_params = original


# llama-cpp-python tokenises the rendered chat prompt with special tokens on, so a customer who
# types "<|im_end|><|im_start|>system" would write real role tokens (SECURITY: prompt injection).
# Control-token spellings (ChatML's <|…|>, Llama's <s>/</s>, Gemma's <start_of_turn>…) in any
# message are defanged to plain text that tokenises as ordinary characters.
_CONTROL = re.compile(r"<\|([A-Za-z0-9_.-]{1,40})\|>|<(/?s|start_of_turn|end_of_turn|bos|eos|pad|unk)>")


def defang(text: str) -> str:
    """`text` with every control-token spelling broken up (`<|im_end|>` -> `<| im_end |>`)."""
    return _CONTROL.sub(lambda m: f"<| {m.group(1)} |>" if m.group(1) else f"< {m.group(2)} >", text)


def _plain(messages: list[Message]) -> list[dict[str, str]]:
    # The chat template only knows role and text content; no message can write a control token.
    return [{"role": str(m.get("role") or "user"), "content": defang(str(m.get("content") or ""))} for m in messages]


def _llama_kwargs(options: GenerationOptions, cap: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "max_tokens": min(options.max_tokens or cap, cap),
        "repeat_penalty": options.repeat_penalty or REPEAT_PENALTY,
    }
    for field in ("temperature", "top_p", "stop", "presence_penalty", "frequency_penalty"):
        value = getattr(options, field)
        if value is not None:
            kwargs[field] = value
    shape = grammar_for(
        command_schema=options.command_schema, response_format=options.response_format,
        text_only=options.text_only, forced=options.tool_choice not in (None, "auto", "none"),
    )
    if shape is not None:
        kwargs["grammar"] = shape  # (GBNF, may be prose): parsed in the worker thread
    return kwargs


def overflow_message(n_ctx: int, detail: str) -> str:
    """What a customer reads when the conversation no longer fits the model's window."""
    return (
        f"This conversation no longer fits the model's context window of {n_ctx} tokens ({detail}). "
        "Start a new conversation, or send a shorter message."
    )


class LoopGuard:
    """Notices an answer repeating itself: its last characters already said twice before."""

    def __init__(self, tail: int = LOOP_TAIL_CHARS, repeats: int = LOOP_REPEATS) -> None:
        self.text = ""
        self.tail = tail
        self.repeats = repeats

    def looping(self, piece: str) -> bool:
        """Add a piece of the answer; True when the answer has started going round in circles."""
        self.text += piece
        if len(self.text) < self.tail * self.repeats:
            return False
        end = self.text[-self.tail:]
        return self.text.count(end) >= self.repeats


def grammar_parses(llama: Any, text: str) -> bool:
    """Whether llama.cpp parses this GBNF for the model's vocabulary (no left recursion, every rule defined)."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, text.encode("utf-8"), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def command_grammar(schema: dict[str, Any], *, text: bool = True) -> str:
    """GBNF for an answer that is JSON of `schema` or (with `text`) plain text."""
    return answer_grammar(commands=schema, prose=text)
