"""Host overhead of a training step: our trainer against a plain PyTorch loop, on a model where compute is negligible.

    arc25-benchmark-step-overhead --modes lora,full --repeats 3

The probe is a deep, narrow Qwen2 (24 layers of width 64 by default, built from a config: no download) fed real
samples of the task stream. Both paths train it from the same initial weights on the same micro-batches (same
rows, same order, same collator) with AdamW and gradient clipping:

- ``trainer``: finetuning.py's trainer (its SFTConfig and arc25.train.trainer's ArcTrainer, with the throughput
  observer), logging and saving out of the measured steps;
- ``plain``: forward with the model's own loss, backward, clip, step, zero_grad.

Per optimizer step it reports host ms (wall time: compute is negligible at this width; measured with nothing
else attached; runs of the two paths alternate and their ratio is taken per repeat, so compare ratios, not
milliseconds, on a shared machine), and per micro-batch, counted with arc25.train.step_probe over separate steps: ops,
sync-type ops (reads that stall the host on a GPU) by name, tensors with a vocabulary-wide dimension (other than
parameter-shaped ones) and dense T x T tensors. JSON goes to stdout (and --json-out), the table to stderr.

With ``--compile-layers`` a third path, ``compiled``, is the trainer with its decoder layers compiled in place
(finetuning.py --compile-layers, arc25.train.compile), timed in the same alternation: its host ms per step after the
warm-up steps (which pay the compile) over the plain loop's of the same repeat, and per run what dynamo compiled
(seconds, frames, recompiles, compiles in steps after the first: 0 when rows of new lengths reuse the code). Its
ops are not counted: compiled kernels bypass the op probe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, parse

MODES = ("lora", "full")
PATHS = ("trainer", "plain")
OPTIMS = ("adamw_torch", "adamw_torch_fused")
COMPILE_BACKENDS = ("inductor", "aot_eager")


@dataclass
class Args(CliConfig):
    modes: str = "lora,full"
    """Comma-separated: lora (adapters on q/k/v/o) and/or full (every weight trains)."""
    n_layers: int = 24
    """Decoder layers of the probe model."""
    hidden_size: int = 64
    """Width of the probe model (its MLP is 2x this; 4 query and 2 key/value heads)."""
    lora_r: int = 8
    """LoRA rank."""
    batch_size: int = 16
    """Samples per optimizer step."""
    per_device_train_batch_size: int = 1
    """Samples per micro-batch (finetuning.py's default is 1: every per-micro-batch cost is paid batch-size times)."""
    packing: bool = False
    """Padding-free micro-batches (finetuning.py --packing)."""
    token_budget: Optional[int] = None
    """Micro-batches packed to this many tokens (finetuning.py --token-budget): one row of whole samples each,
    about --batch-size samples per step."""
    optim: str = "adamw_torch"
    """AdamW for both paths: adamw_torch (a foreach loop over tensors) or adamw_torch_fused (one fused kernel)."""
    steps: int = 4
    """Timed optimizer steps per run."""
    warmup_steps: int = 2
    """Steps before the timed ones (allocator growth, first-call work)."""
    probe_steps: int = 1
    """Steps counted with the op probe, after the timed ones."""
    repeats: int = 2
    """Runs of each path per mode, alternating; ratios are taken per repeat."""
    max_side: int = 6
    """Largest grid side of the sampled tasks (sets the sequence lengths)."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds the probe model's weights and the task stream."""
    compile_layers: bool = False
    """Also time the trainer with its decoder layers compiled in place (path ``compiled``), with compile counts."""
    compile_backend: str = "inductor"
    """Backend for --compile-layers: inductor (finetuning.py's) or aot_eager (traced graphs run eagerly, no code
    generation: the compile counts without the C++ build time)."""
    json_out: Optional[str] = None
    """Also write the JSON here."""

    def validate(self) -> None:
        for name in ("n_layers", "hidden_size", "lora_r", "batch_size", "per_device_train_batch_size", "steps",
                     "probe_steps", "repeats", "max_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.warmup_steps < 0:
            raise ValueError(f"--warmup-steps must be >= 0, got {self.warmup_steps}")
        if self.hidden_size % 4:
            raise ValueError(f"--hidden-size must be a multiple of 4 (4 attention heads), got {self.hidden_size}")
        if self.token_budget is not None:
            if self.token_budget < 32 or self.per_device_train_batch_size != 1:
                raise ValueError(f"--token-budget {self.token_budget}: must be >= 32, with "
                                 f"--per-device-train-batch-size 1 (got {self.per_device_train_batch_size})")
        elif self.batch_size % self.per_device_train_batch_size:
            raise ValueError(f"--batch-size {self.batch_size} is not a multiple of --per-device-train-batch-size "
                             f"{self.per_device_train_batch_size}")
        self.mode_list()
        if self.optim not in OPTIMS:
            raise ValueError(f"--optim {self.optim!r}: must be one of {', '.join(OPTIMS)}")
        if self.compile_backend not in COMPILE_BACKENDS:
            raise ValueError(f"--compile-backend {self.compile_backend!r}: must be one of {', '.join(COMPILE_BACKENDS)}")
        if self.compile_layers and not self.warmup_steps:
            raise ValueError("--compile-layers needs --warmup-steps >= 1: the first step compiles, and is not timed")

    def mode_list(self) -> list[str]:
        modes = [m.strip() for m in self.modes.split(",") if m.strip()]
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise ValueError(f"--modes {self.modes!r}: each must be one of {', '.join(MODES)}")
        return modes

    @property
    def total_steps(self) -> int:
        return self.warmup_steps + self.steps + self.probe_steps

    @property
    def max_seq_len(self) -> int:
        return self.token_budget or 4096

    @property
    def attention(self) -> str:
        """finetuning.py's choice: sdpa, run per sample without a mask on padding-free rows."""
        if self.packing or self.token_budget:
            from arc25.train import attention

            return attention.register()
        return "sdpa"


def probe_model(args: Args, tokenizer, lora: bool, lora_config):
    """The deep, narrow probe: the builtin tiny model's config with more, narrower layers; LoRA applied on request."""
    import torch
    from transformers import AutoModelForCausalLM

    from arc25 import models

    config = models.builtin_config("tiny", tokenizer)
    config.update(dict(num_hidden_layers=args.n_layers, hidden_size=args.hidden_size,
                       intermediate_size=2 * args.hidden_size, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=args.hidden_size // 4, layer_types=["full_attention"] * args.n_layers))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.random_seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation=args.attention)
    if lora:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config)
    return model


def micro_batches(args: Args, tokenizer, encoder_spec: str) -> tuple[list[list[dict]], int]:
    """Every micro-batch of the run (the rows each collates) and how many make a step: both paths train on these."""
    from arc25.train import data
    from arc25.tasks import make_mixture

    spec = data.StreamSpec(make_mixture("default", max_side=args.max_side), encoder_spec, args.max_seq_len)
    stream = data.examples(tokenizer, spec, args.random_seed)
    if not args.token_budget:
        per = args.per_device_train_batch_size
        rows = list(itertools.islice(stream, args.total_steps * args.batch_size))
        return [rows[i: i + per] for i in range(0, len(rows), per)], args.batch_size // per
    head = list(itertools.islice(stream, 64))
    accum = data.micro_batches_per_step(args.batch_size, 1, args.token_budget,
                                        statistics.mean(len(r["input_ids"]) for r in head))
    packs = data.pack_to_budget(itertools.chain(head, stream), args.token_budget)
    return [[pack] for pack in itertools.islice(packs, args.total_steps * accum)], accum


def run_trainer(args: Args, mode: str, batches: list[list[dict]], accum: int, workdir: Path, probe: bool,
                compiled: bool = False) -> dict:
    """finetuning.py's trainer over ``batches``; host ms per timed step, or the probe's counts when ``probe``; with
    ``compiled``, its decoder layers compiled in place, and what dynamo compiled."""
    import datasets
    from transformers import TrainerCallback
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    import finetuning
    from arc25.train import data
    from arc25.train.metrics import ThroughputCallback
    from arc25.train.step_probe import StepProbeCallback
    from arc25.train.trainer import ArcTrainer

    cfg = finetuning.Config(
        output_dir=str(workdir), model_path="tiny", max_steps=args.total_steps, batch_size=args.batch_size,
        per_device_train_batch_size=args.per_device_train_batch_size, packing=args.packing, lora_r=args.lora_r,
        token_budget=args.token_budget, max_seq_len=args.max_seq_len,
        logging_steps=args.total_steps + 1, save_steps=args.total_steps + 1, eval_steps=0, log_to_wandb=False,
        dataloader_num_workers=0, resume_from_checkpoint=False, random_seed=args.random_seed, max_side=args.max_side,
        warmup_ratio=0.0, optim=args.optim,
    )
    # The step's micro-batches are the plain loop's (prepare estimates them from other samples).
    run = dataclasses.replace(finetuning.prepare(cfg), grad_accum=accum)
    model = probe_model(args, run.model.tokenizer, mode == "lora", cfg.lora_config())
    step_ends: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_end(self, *_args, **_kwargs):
            step_ends.append(time.perf_counter())

    callbacks = [StepClock()]
    counter = None
    if compiled:
        import torch

        from arc25.train.compile import CompileStats, compile_layers

        torch._dynamo.reset()  # each run compiles afresh (dynamo would reuse code cached by the previous run)
        compile_layers(model, backend=args.compile_backend)
        compile_stats = CompileStats()
        callbacks.append(compile_stats)
    if probe:
        counter = StepProbeCallback(args.probe_steps, skip_steps=args.warmup_steps + args.steps)
        callbacks.append(counter)
    collator = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=run.model.tokenizer.pad_token_id,
                                                                  padding_free=cfg.packing or bool(cfg.token_budget)))
    trainer = ArcTrainer(
        model=model, args=finetuning.sft_config(cfg, run),
        train_dataset=datasets.Dataset.from_list([row for batch in batches for row in batch]).to_iterable_dataset(),
        processing_class=run.model.tokenizer, data_collator=collator,
        observers=[ThroughputCallback(skip_first_steps=args.warmup_steps)], callbacks=callbacks,
    )
    trainer.train()
    if probe:
        return counter.summary
    timed = step_ends[args.warmup_steps - 1 if args.warmup_steps else 0: args.warmup_steps + args.steps]
    out = {"host_ms_per_step": 1000 * (timed[-1] - timed[0]) / (len(timed) - 1) if len(timed) > 1 else None}
    if compiled:
        out["compile"] = compile_stats.summary()
    return out


def run_plain(args: Args, mode: str, batches: list[list[dict]], accum: int, tokenizer, lora_config,
              probe: bool) -> dict:
    """The same model, micro-batches and optimizer in a hand-written loop."""
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from arc25.train import data
    from arc25.train.step_probe import StepProbe

    model = probe_model(args, tokenizer, mode == "lora", lora_config).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0, fused=args.optim == "adamw_torch_fused" or None)
    collator = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id,
                                                                  padding_free=args.packing or bool(args.token_budget)))
    batches = iter(batches)

    def step():
        micro = [collator(next(batches)) for _ in range(accum)]
        for batch in micro:
            batch.pop(data.BatchStats.KEY, None)
        # The loss is the mean over the step's label tokens, as the trainer computes it.
        n_items = sum((b["labels"][:, 1:] != -100).sum() for b in micro)
        for batch in micro:
            model(**batch, use_cache=False, num_items_in_batch=n_items).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(args.warmup_steps):
        step()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    host_ms = 1000 * (time.perf_counter() - started) / args.steps
    if not probe:
        return {"host_ms_per_step": host_ms}
    with StepProbe.for_model(model) as counter:
        for _ in range(args.probe_steps):
            step()
    return dict(counter.summary(args.probe_steps * accum), steps=args.probe_steps)


def measure(args: Args) -> dict:
    import finetuning
    from arc25 import models

    tokenizer = models.load_tokenizer("tiny")
    encoder = finetuning.Config.grid_encoder
    lora_config = finetuning.Config(lora_r=args.lora_r).lora_config()
    batches, accum = micro_batches(args, tokenizer, encoder)
    results = {}
    with tempfile.TemporaryDirectory(prefix="arc25-step-overhead-") as tmp:
        for mode in args.mode_list():
            times = {path: [] for path in PATHS}
            compiled = []
            for repeat in range(args.repeats):
                times["trainer"].append(run_trainer(args, mode, batches, accum, Path(tmp) / f"{mode}-{repeat}", False)
                                        ["host_ms_per_step"])
                times["plain"].append(run_plain(args, mode, batches, accum, tokenizer, lora_config, False)
                                      ["host_ms_per_step"])
                if args.compile_layers:
                    compiled.append(run_trainer(args, mode, batches, accum, Path(tmp) / f"{mode}-compiled-{repeat}",
                                                False, compiled=True))
            counts = {"trainer": run_trainer(args, mode, batches, accum, Path(tmp) / f"{mode}-probe", True),
                      "plain": run_plain(args, mode, batches, accum, tokenizer, lora_config, True)}
            ratios = [t / p for t, p in zip(times["trainer"], times["plain"])]
            results[mode] = {
                "trainer_over_plain": round(statistics.median(ratios), 3),
                "ratios": [round(r, 3) for r in ratios],
                **{path: dict(host_ms_per_step=round(statistics.median(times[path]), 2), **counts[path])
                   for path in PATHS},
            }
            if compiled:
                over_plain = [c["host_ms_per_step"] / p for c, p in zip(compiled, times["plain"])]
                results[mode]["compiled"] = {
                    "host_ms_per_step": round(statistics.median(c["host_ms_per_step"] for c in compiled), 2),
                    "over_plain": round(statistics.median(over_plain), 3),
                    "ratios": [round(r, 3) for r in over_plain], "backend": args.compile_backend,
                    "compile": [c["compile"] for c in compiled]}
    samples = [r for batch in batches for item in batch for r in item.get("samples", [item])]
    tokens = [len(r["input_ids"]) for r in samples]
    return {
        "probe": {"n_layers": args.n_layers, "hidden_size": args.hidden_size, "vocab_size": len(tokenizer),
                  "lora_r": args.lora_r, "batch_size": args.batch_size,
                  "per_device_train_batch_size": args.per_device_train_batch_size, "packing": args.packing,
                  "token_budget": args.token_budget, "micro_batches_per_step": accum,
                  "samples_per_step_mean": round(len(samples) / args.total_steps, 1), "attention": args.attention,
                  "optim": args.optim, "compile_layers": args.compile_layers,
                  "tokens_per_sample_mean": round(sum(tokens) / len(tokens), 1), "max_side": args.max_side},
        "steps": args.steps, "repeats": args.repeats,
        "modes": results,
    }


def table(result: dict) -> str:
    head = ("mode", "path", "host ms/step", "ratio", "ops/mb", "syncs/mb", "vocab-wide", "dense TxT", "syncs by op")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mode, r in result["modes"].items():
        for path in PATHS:
            p = r[path]
            ratio = r["trainer_over_plain"] if path == "trainer" else 1.0
            syncs = ", ".join(f"{k} {v:g}" for k, v in p["syncs_by_op"].items()) or "-"
            lines.append("| " + " | ".join(str(x) for x in (
                mode, path, p["host_ms_per_step"], ratio, p["ops_per_micro_batch"], p["syncs_per_micro_batch"],
                p["vocab_wide_tensors"], p["dense_tt_tensors"], syncs)) + " |")
        if "compiled" in r:
            c = r["compiled"]
            first = c["compile"][0]
            counts = ", ".join(f"{k} {first[k]}" for k in ("compile_s", "frames", "compiles", "later_step_compiles"))
            lines.append(f"| {mode} | compiled ({c['backend']}) | {c['host_ms_per_step']} | {c['over_plain']} | - | - "
                         f"| - | - | {counts} |")
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> None:
    args = parse(Args, argv, description=__doc__)
    # The trainer prints its final metrics to stdout, which is the JSON's.
    with contextlib.redirect_stdout(sys.stderr):
        result = measure(args)
    text = json.dumps(result, indent=2)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    print(text)
    print(table(result), file=sys.stderr)


if __name__ == "__main__":
    cli()
