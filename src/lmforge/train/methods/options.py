"""The settings of a parameter-efficient fine-tuning method, as `lmforge sft --peft ...` takes them.

One flat record for every method: each method reads the fields it needs and records them
all in the run's manifest, so a run can be repeated from its manifest alone.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PeftOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field("none", description="which parameters train; see METHODS")
    lora_r: int = Field(8, ge=1, description="LoRA/DoRA/QLoRA rank")
    lora_alpha: int = Field(16, ge=1, description="LoRA scale numerator (alpha / r)")
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | None = Field(
        None, description="module names to adapt; default: attention and MLP projections"
    )
    rslora: bool = Field(False, description="rank-stabilised LoRA: scale alpha / sqrt(r)")
    num_virtual_tokens: int = Field(8, ge=1, description="prefix/prompt/p-tuning/adapter length")
    adapter_size: int = Field(16, ge=1, description="bottleneck width")
    adapter_style: str = Field("houlsby", pattern="^(houlsby|pfeiffer)$")
    non_linearity: str = Field("relu", pattern="^(relu|gelu|silu|tanh)$")

    def for_manifest(self) -> dict:
        return {"peft": self.model_dump()}
