"""`POST /v1/embeddings` from the knowledge base's embedding model, through the official client."""

from __future__ import annotations

import math

import openai
import pytest

from chatkiosk.knowledge.embedders import DEFAULT_EMBEDDER
from chatkiosk.llm.fake import ScriptedProvider


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_by_default_and_by_name(live):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    client = server.client(user)
    assert DEFAULT_EMBEDDER in {m.id for m in client.models.list()}
    texts = ["환불은 7일 이내에 가능합니다", "Refunds are possible within 7 days", "The cheeseburger has two patties"]
    by_default = client.embeddings.create(model="default", input=texts)  # the client asks for base64
    assert by_default.model == DEFAULT_EMBEDDER and [d.index for d in by_default.data] == [0, 1, 2]
    vectors = [d.embedding for d in by_default.data]
    assert all(len(v) == 512 and math.isclose(math.sqrt(_cos(v, v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert _cos(vectors[0], vectors[1]) > _cos(vectors[0], vectors[2])  # the same meaning across languages
    as_floats = server.http.post("/v1/embeddings", headers={"Authorization": f"Bearer {user.key}"},
                                 json={"model": DEFAULT_EMBEDDER, "input": texts[0], "encoding_format": "float"}).json()
    assert as_floats["usage"]["prompt_tokens"] > 0
    assert all(math.isclose(x, y, abs_tol=1e-5) for x, y in zip(as_floats["data"][0]["embedding"], vectors[0], strict=True))


def test_unknown_embedding_model_is_404_and_bad_input_400(live):
    server = live(providers={"scripted": ScriptedProvider()})
    client = server.client(server.user())
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert caught.value.body["code"] == "model_not_found" and caught.value.body["param"] == "model"
    for kwargs in ({"input": [[1, 2, 3]]}, {"input": []}, {"input": "hi", "dimensions": 7}, {"input": [""]}):
        with pytest.raises(openai.BadRequestError) as bad:
            client.embeddings.create(model="default", **kwargs)
        assert bad.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.AuthenticationError):
        server.client("ck-wrong").embeddings.create(model="default", input="hi")
