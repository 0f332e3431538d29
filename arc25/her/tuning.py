"""Fine-tune the loaded model in memory on relabelled tasks, and put it back to its initial weights per task.

A plain loop rather than a trainer: it starts in no time (the journal lost ~30 s per task to training
start-up), and the model, its tokenizer and the formatter are built once per run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from arc25.prompts.chat import ChatFormatter
from arc25.prompts.encoders import get_encoder
from arc25.her.relabel import HindsightTask

__all__ = ["TuningSettings", "InMemoryTuner", "pad_batch"]


@dataclass
class TuningSettings:
    learning_rate: float = 1e-5
    warmup_steps: int = 0
    batch_size: int = 1
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    max_seq_len: int = 8192


def pad_batch(examples: list[dict], pad_id: int):
    """Right-padded input_ids, attention_mask and labels (-100 on padding and prompt) as tensors."""
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for r, e in enumerate(examples):
        n = len(e["input_ids"])
        input_ids[r, :n] = torch.tensor(e["input_ids"])
        labels[r, :n] = torch.tensor(e["labels"])
        attention_mask[r, :n] = 1
    return input_ids, attention_mask, labels


class InMemoryTuner:
    """One pass of AdamW over each epoch's new tasks, in the order given; ``reset()`` restores the start weights.

    Only trainable parameters are snapshotted (LoRA weights, or every weight when training in full), on the
    CPU, so restoring costs a copy and no reload. The optimizer and the warmup restart with every task.
    """

    def __init__(self, model, tokenizer, settings: TuningSettings, *, encoder_spec: str, prompt_style: str,
                 autocast_dtype=None):
        self.model = model
        self.settings = settings
        self.formatter = ChatFormatter(tokenizer, prompt_style)
        self.encoder = get_encoder(encoder_spec)
        self.pad_id = tokenizer.pad_token_id
        self.autocast_dtype = autocast_dtype
        self.named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        if not self.named:
            raise ValueError("the model has no trainable parameters")
        self.initial = {name: p.detach().to("cpu", copy=True) for name, p in self.named}
        self.optimizer = self.scheduler = None

    def reset(self) -> None:
        """Back to the weights the run started from, with a fresh optimizer and warmup."""
        import torch
        from transformers import get_constant_schedule_with_warmup

        with torch.no_grad():
            for name, p in self.named:
                p.copy_(self.initial[name])
        params = [p for _, p in self.named]
        # foreach=False: the fused multi-tensor path is no faster for a LoRA's few tensors and costs memory.
        self.optimizer = torch.optim.AdamW(params, lr=self.settings.learning_rate,
                                           weight_decay=self.settings.weight_decay, foreach=False)
        self.scheduler = get_constant_schedule_with_warmup(self.optimizer, self.settings.warmup_steps)

    def _autocast(self):
        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        device = next(iter(self.model.parameters())).device.type
        return torch.autocast(device, dtype=self.autocast_dtype)

    def _example(self, h: HindsightTask) -> dict | None:
        """Token ids and labels of a relabelled task, or None when it is longer than training takes."""
        example = self.formatter.example(h.task, self.encoder)
        return example if len(example["input_ids"]) <= self.settings.max_seq_len else None

    def losses(self, tasks: list[HindsightTask]) -> list[float]:
        """Each task's mean loss per program token under the current weights; -inf for one too long to train on,
        so a choice by highest loss never takes it."""
        import torch

        device = next(iter(self.model.parameters())).device
        out = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for h in tasks:
                    example = self._example(h)
                    if example is None:
                        out.append(float("-inf"))
                        continue
                    input_ids, attention_mask, labels = pad_batch([example], self.pad_id)
                    with self._autocast():
                        loss = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                                          labels=labels.to(device), use_cache=False).loss
                    out.append(float(loss))
        finally:
            if was_training:
                self.model.train()
        return out

    def train(self, tasks: list[HindsightTask]) -> dict:
        """One pass over ``tasks`` in order (too-long ones skipped); returns examples, skipped, steps, mean loss."""
        import torch

        if self.optimizer is None:
            self.reset()
        examples = [e for e in map(self._example, tasks) if e is not None]
        too_long = len(tasks) - len(examples)
        device = next(iter(self.model.parameters())).device
        losses = []
        was_training = self.model.training
        self.model.train()
        try:
            for start in range(0, len(examples), self.settings.batch_size):
                input_ids, attention_mask, labels = pad_batch(examples[start : start + self.settings.batch_size],
                                                              self.pad_id)
                with self._autocast():
                    loss = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                                      labels=labels.to(device), use_cache=False).loss
                loss.backward()
                if self.settings.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_([p for _, p in self.named], self.settings.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.detach()))
        finally:
            if not was_training:
                self.model.eval()
        return {"n_examples": len(examples), "n_too_long": too_long, "steps": len(losses),
                "loss": sum(losses) / len(losses) if losses else None}
