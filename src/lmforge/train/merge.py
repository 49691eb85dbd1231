"""`lmforge merge`: fold a LoRA, DoRA or IA3 adapter into its base model, a plain HF model.

Checks come before any weights load: the adapter must be one whose method can merge, and
its manifest's lineage must name this base (the content hash recorded when the adapter was
trained must equal the given base's). peft's `merge_and_unload` does the merging.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmforge.errors import LmforgeError
from lmforge.models.io import load_model, save_model
from lmforge.runs import content_hash, prepare_out_dir, read_manifest, write_manifest

MERGEABLE = ("lora", "dora", "ia3", "qlora")
WHY_NOT = {
    "prefix": "prefix tuning adds learned keys and values to every layer's attention, which "
    "no weight matrix can hold",
    "prompt": "prompt tuning adds learned input embeddings in front of every input, not a "
    "change to any weight",
    "ptuning": "P-tuning adds virtual tokens made by its own encoder in front of every input",
    "llama-adapter": "LLaMA-Adapter adds a gated attention over learned prompts beside each "
    "layer's attention, which no weight matrix can hold",
    "bottleneck": "bottleneck adapters are small non-linear networks (down, activation, up); "
    "a non-linearity cannot be folded into a linear layer",
    "none": "it is a full model, not an adapter",
    "head-only": "it is a full model, not an adapter",
}
PEFT_TYPES = {"LORA": "lora", "IA3": "ia3", "PREFIX_TUNING": "prefix", "PROMPT_TUNING": "prompt"}
PEFT_TYPES |= {"P_TUNING": "ptuning", "ADAPTION_PROMPT": "llama-adapter"}


def adapter_method(adapter: Path, manifest: dict | None) -> str:
    """The method an adapter was trained with: from its manifest, else its peft config."""
    if manifest is not None and "peft" in manifest.get("config", {}):
        return manifest["config"]["peft"]["method"]
    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        raise LmforgeError(
            f"{adapter} holds no adapter (no adapter_config.json).",
            "Give the --out directory of an `lmforge sft --peft ...` run.",
        )
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("lmforge_method"):
        return config["lmforge_method"]
    method = PEFT_TYPES.get(config.get("peft_type"), str(config.get("peft_type")).lower())
    return "dora" if method == "lora" and config.get("use_dora") else method


def check_mergeable(model: Path, adapter: Path) -> str:
    manifest = read_manifest(adapter)
    method = adapter_method(adapter, manifest)
    if method not in MERGEABLE:
        why = WHY_NOT.get(method, f"peft cannot merge {method} adapters")
        raise LmforgeError(
            f"a {method} adapter cannot be merged into the base model: {why}.",
            "Load it on its base with peft.PeftModel.from_pretrained instead; merging works "
            f"for {', '.join(MERGEABLE)}.",
        )
    check_base(model, adapter, manifest)
    return method


def check_base(model: Path, adapter: Path, manifest: dict | None) -> None:
    """Refuse an adapter whose lineage names another base model than `model`."""
    recorded = ((manifest or {}).get("inputs", {}).get("model") or {}).get("sha256")
    if recorded is not None and recorded != content_hash(model):
        trained_on = (adapter / manifest["inputs"]["model"]["path"]).resolve()
        raise LmforgeError(
            f"the adapter in {adapter} was trained on another base model ({trained_on}, "
            f"sha256 {recorded[:12]}…), not on {model}.",
            f"Use it with the model it was trained on (see `lmforge lineage {adapter}`).",
        )


def load_adapted(model: Path, adapter: Path):
    """(model, tokenizer, method): the base with its adapter, ready for generation.

    Mergeable adapters are folded in (inference then costs what the base costs); bottleneck
    adapters are put back on the base; the others run as peft models.
    """
    from peft import PeftModel

    from lmforge.train.methods import load_bottleneck

    model, adapter = Path(model), Path(adapter)
    manifest = read_manifest(adapter)
    method = adapter_method(adapter, manifest)
    if method in ("none", "head-only"):
        raise LmforgeError(f"{adapter} is a full model, not an adapter.", "Serve it as --model.")
    check_base(model, adapter, manifest)
    base, tokenizer = load_model(model)
    if method == "bottleneck":
        return load_bottleneck(base, adapter), tokenizer, method
    adapted = PeftModel.from_pretrained(base, adapter)
    return (adapted.merge_and_unload() if method in MERGEABLE else adapted), tokenizer, method


def merge(model: Path, adapter: Path, out: Path, overwrite: bool = False) -> dict:
    """Merge the adapter in `adapter` into the base model in `model`; write it to `out`."""
    from peft import PeftModel

    model, adapter = Path(model), Path(adapter)
    method = check_mergeable(model, adapter)
    out = prepare_out_dir(out, overwrite=overwrite)
    base, tokenizer = load_model(model)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    save_model(merged, tokenizer, out)
    metrics = {"parameters": sum(p.numel() for p in merged.parameters())}
    write_manifest(out, "merged", {"method": method}, {"model": model, "adapter": adapter}, metrics)
    return {**metrics, "method": method}
