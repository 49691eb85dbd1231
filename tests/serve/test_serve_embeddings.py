"""`POST /v1/embeddings` with all-MiniLM-L6-v2 through the official `openai` client."""

from __future__ import annotations

import base64

import httpx2 as httpx
import numpy as np
import openai
import pytest
from serve_support import running

from lmforge.embed import load_embedder
from lmforge.errors import LmforgeError
from lmforge.serve import create_app

KEY = "embed-key"
TEXTS = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Copper prices rose in May."]


@pytest.fixture(scope="module")
def served(loaded):
    app = create_app(loaded=loaded, model_id="tiny", api_key=KEY, threads=1)
    with running(app) as url:
        yield url, openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=120)


def test_float_vectors_equal_the_embedder_and_paraphrases_are_closest(served):
    _url, client = served
    reply = client.embeddings.create(model="minilm", input=TEXTS, encoding_format="float")
    assert reply.object == "list" and reply.model == "minilm"
    assert [d.index for d in reply.data] == [0, 1, 2]
    vectors = np.array([d.embedding for d in reply.data])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, load_embedder("minilm")(TEXTS), atol=1e-6)
    cosine = vectors @ vectors.T
    assert cosine[0, 1] > 0.8 and cosine[0, 1] > cosine[0, 2] + 0.5
    tokenizer = load_embedder("minilm").model.tokenizer
    assert reply.usage.prompt_tokens == sum(len(ids) for ids in tokenizer(TEXTS)["input_ids"])
    assert reply.usage.total_tokens == reply.usage.prompt_tokens


def test_base64_token_ids_and_a_single_string_give_the_same_vectors(served):
    url, client = served
    as_float = client.embeddings.create(model="minilm", input=TEXTS[0], encoding_format="float")
    expected = np.array(as_float.data[0].embedding, dtype=np.float32)
    default = client.embeddings.create(model="minilm", input=[TEXTS[0]])  # the client's base64
    assert np.array_equal(np.array(default.data[0].embedding, dtype=np.float32), expected)
    body = {"model": "minilm", "input": TEXTS[0], "encoding_format": "base64"}
    raw = httpx.post(
        f"{url}/v1/embeddings", json=body, timeout=60, headers={"Authorization": f"Bearer {KEY}"}
    )
    packed = raw.json()["data"][0]["embedding"]
    assert np.array_equal(np.frombuffer(base64.b64decode(packed), dtype="<f4"), expected)
    tokenizer = load_embedder("minilm").model.tokenizer
    ids = tokenizer(TEXTS[0], add_special_tokens=False)["input_ids"]
    from_ids = client.embeddings.create(model="minilm", input=[ids], encoding_format="float")
    assert np.allclose(from_ids.data[0].embedding, expected, atol=1e-6)


def test_embedding_errors(served):
    _url, client = served
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input="x", dimensions=128)
    assert e.value.body["param"] == "dimensions"
    assert client.embeddings.create(model="minilm", input="x", dimensions=384).data
    with pytest.raises(openai.NotFoundError, match="embedding model is `minilm`"):
        client.embeddings.create(model="tiny", input="x")
    with pytest.raises(openai.BadRequestError, match="input 1 is empty"):
        client.embeddings.create(model="minilm", input=["a", ""])
    with pytest.raises(openai.BadRequestError, match="not in the embedding model's vocabulary"):
        client.embeddings.create(model="minilm", input=[[1, 10**9]])
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input="x", encoding_format="int8")
    assert e.value.body["param"] == "encoding_format"


def test_bad_embedder_is_refused_before_the_model_loads(tmp_path):
    for spec in ("tfidf", str(tmp_path / "missing")):
        with pytest.raises(LmforgeError, match="embedder"):
            create_app(tmp_path / "no-model", embedder=spec)
