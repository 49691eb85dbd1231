"""A real `lmforge serve` app under uvicorn on 127.0.0.1 (a free port, in a thread).

The serve extras (fastapi, uvicorn, openai) may be missing from an environment built before
they were declared: then these tests are skipped, not failed at collection.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lmforge.models.io import load_model
from support import single_thread

KEY = "test-key"


@pytest.fixture(scope="module", autouse=True)
def _single_thread():
    with single_thread():
        yield


@pytest.fixture(scope="session")
def loaded(tiny_model_dir):
    """The tiny model with large random weights: confident and varied, so answers differ."""
    model, tokenizer = load_model(tiny_model_dir)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    return model, tokenizer


@pytest.fixture(scope="module")
def server(loaded):
    """The served tiny model, id `tiny`, key `test-key`, a 1 MB body limit."""
    from serve_support import running

    from lmforge.serve import create_app

    app = create_app(loaded=loaded, model_id="tiny", api_key=KEY, max_body_bytes=1_000_000,
                     batch_wait=0.05, threads=1)  # fmt: skip
    with running(app) as url:
        yield SimpleNamespace(url=url, engine=app.state.served.engine, key=KEY,
                              headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
