"""Training configuration: every knob of the shared loop, validated before any work starts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq_len: int = Field(256, ge=8, description="tokens per packed row")
    micro_batch_size: int = Field(8, ge=1, description="rows per forward pass")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    max_steps: int | None = Field(None, ge=1, description="optimizer steps (or give epochs)")
    epochs: float | None = Field(None, gt=0, description="passes over the data")
    lr: float = Field(1e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final lr as a fraction of lr")
    warmup_steps: int = Field(10, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.95, ge=0, lt=1)
    max_grad_norm: float | None = Field(1.0, gt=0)
    eval_every: int = Field(50, ge=1, description="steps between eval-loss measurements")
    eval_fraction: float = Field(0.05, ge=0, lt=1, description="rows held out for eval loss")
    save_every: int = Field(100, ge=1, description="steps between checkpoints")
    log_every: int = Field(1, ge=1)
    seed: int = 0
    precision: str = Field("auto", pattern="^(auto|fp32|bf16|fp16)$")
    keep_checkpoints: bool = False
    optimizer: str = Field(
        "adamw", pattern="^(adamw|paged_adamw_8bit)$", description="paged 8-bit needs a GPU"
    )

    @model_validator(mode="after")
    def _length_given(self) -> TrainConfig:
        if self.max_steps is None and self.epochs is None:
            raise ValueError("give max_steps or epochs")
        return self

    def rows_per_step(self, world_size: int) -> int:
        return self.micro_batch_size * self.grad_accum * world_size

    def total_steps(self, n_rows: int, world_size: int) -> int:
        if self.max_steps is not None:
            return self.max_steps
        return max(1, round(self.epochs * n_rows / self.rows_per_step(world_size)))
