"""`POST /v1/embeddings`: the knowledge base's embedding model, for a client's own retrieval.

The one model is the configured embedder (`knowledge_embedder`), listed in `/v1/models` by its
name; `default` always names it too, so a client need not know which one is configured. An
unknown model is 404. Vectors are unit length, as float lists or (`encoding_format: "base64"`,
what the `openai` package asks for by default) little-endian float32 bytes. Token-id input
and a different `dimensions` are refused (400): the model cannot honour them.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatkiosk.api.bodies import parse_json
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import errors
from chatkiosk.errors import NotFound, UserError
from chatkiosk.llm.base import estimate_tokens
from chatkiosk.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["openai"])

DEFAULT_MODEL = "default"
MAX_INPUTS = 256


class EmbeddingRequest(BaseModel):
    """What a client may send (OpenAI's fields; `user` is accepted and not used)."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=128)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=256)


_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": EmbeddingRequest.model_json_schema()}}}}


def embedding_model(runtime: Runtime) -> dict[str, Any]:
    """The embedder as a `/v1/models` entry."""
    return {"id": runtime.knowledge.embedder.name, "object": "model", "created": 0, "owned_by": "chatkiosk"}


def _texts(body: EmbeddingRequest, limit: int) -> list[str]:
    value = body.input
    texts = [value] if isinstance(value, str) else value
    if not texts:
        raise UserError("input must not be empty", param="input")
    if not all(isinstance(t, str) for t in texts):
        raise UserError("token ids are not supported as input: send text", code="invalid_value", param="input")
    if len(texts) > MAX_INPUTS:
        raise UserError(f"input may hold at most {MAX_INPUTS} texts", param="input")
    for i, text in enumerate(texts):
        if not text or len(text) > limit:
            raise UserError(f"each input must have 1–{limit} characters", param=f"input.{i}")
    return list(texts)  # type: ignore[arg-type]


def _encoded(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector]


@router.post("/embeddings", openapi_extra=_BODY_DOC, responses=errors(400, 401, 404))
async def create_embeddings(request: Request, principal: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    """Vectors of the input texts from the knowledge base's embedding model."""
    raw = parse_json(await request.body(), unprocessable=UserError)
    if not isinstance(raw, dict):
        raise UserError("the request body must be a JSON object", code="invalid_json")
    try:
        body = EmbeddingRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        raise UserError(f"{param}: {first.get('msg')}" if param else str(first.get("msg")), code="invalid_value", param=param) from None
    embedder = runtime.knowledge.embedder
    if body.model not in (DEFAULT_MODEL, embedder.name):
        raise NotFound(f"the model {body.model!r} does not exist", code="model_not_found", param="model")
    if body.dimensions is not None and body.dimensions != embedder.dimension:
        raise UserError(f"{embedder.name} makes vectors of {embedder.dimension} dimensions", code="invalid_value", param="dimensions")
    texts = _texts(body, runtime.settings.max_message_chars)
    vectors = await embedder.embed(texts)
    tokens = sum(estimate_tokens(t) for t in texts)
    return {
        "object": "list", "model": embedder.name,
        "data": [{"object": "embedding", "index": i, "embedding": _encoded(v, body.encoding_format)} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
