"""`lmforge merge`: merged weights compute what the adapter did; wrong adapters are refused.

Run: OMP_NUM_THREADS=1 pytest tests/train/test_peft_merge.py
"""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel

from lmforge.errors import LmforgeError
from lmforge.models.init import init_model
from lmforge.models.io import load_model
from lmforge.train.merge import merge


@pytest.mark.parametrize("method", ["lora", "dora", "ia3"])
def test_merged_model_equals_base_plus_adapter(method, trained, tiny_model_dir, tmp_path):
    run = trained(method)
    merge(tiny_model_dir, run.out, tmp_path / "merged")
    merged, tokenizer = load_model(tmp_path / "merged")  # a plain HF model: no peft needed
    assert not any("lora" in k or "ia3" in k for k in merged.state_dict())
    base, _ = load_model(tiny_model_dir)
    adapted = PeftModel.from_pretrained(base, run.out).eval()
    ids = tokenizer(["the town of kamori lies in"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        want = adapted(input_ids=ids).logits
        got = merged.eval()(input_ids=ids).logits
        plain = load_model(tiny_model_dir)[0].eval()(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-4)  # the adapter did change something
    manifest = json.loads((tmp_path / "merged" / "lmforge.json").read_text())
    assert manifest["kind"] == "merged" and set(manifest["inputs"]) == {"model", "adapter"}
    assert manifest["config"]["method"] == method


@pytest.mark.parametrize(
    ("method", "why"),
    [("prefix", "learned keys and values"), ("bottleneck", "non-linearity")],
)
def test_unmergeable_adapters_are_refused_with_the_reason(
    method, why, trained, tiny_model_dir, tmp_path
):
    run = trained(method)
    with pytest.raises(LmforgeError, match=f"a {method} adapter cannot be merged") as info:
        merge(tiny_model_dir, run.out, tmp_path / "merged")
    assert why in str(info.value) and "lora, dora, ia3" in str(info.value)
    assert not (tmp_path / "merged").exists()  # refused before anything was written


def test_adapter_from_another_base_is_refused(trained, tokenizer_dir, tmp_path):
    other = tmp_path / "other"
    init_model(tokenizer_dir, other, size="tiny", seed=1)
    with pytest.raises(LmforgeError, match="trained on another base model") as info:
        merge(other, trained("lora").out, tmp_path / "merged")
    assert "lmforge lineage" in str(info.value)
    assert not (tmp_path / "merged").exists()


def test_a_directory_without_adapter_is_refused(tiny_model_dir, tmp_path):
    with pytest.raises(LmforgeError, match="holds no adapter"):
        merge(tiny_model_dir, tmp_path, tmp_path / "merged")
