"""Runs inside the research journal's environment (its old trl/transformers): scripts/journal_baseline.py starts it.

Imports nothing from arc25: on this process's path that name is the journal's own package. Two commands:

    launch.py write-model SPEC.json OUT_DIR      a random-init model folder the journal's loader can read
    launch.py train SETTINGS.json -- FLAGS...    the journal's finetuning.py with FLAGS, timed per step

``train`` changes nothing in the journal's files. It sets the defaults of the journal's task generator (its script
builds ``RandomDrawingTaskOnEmptyImg()`` with no arguments; the journal edited those defaults by hand for each row
of its speed table), raises --max-seq-len if the journal's prompts do not fit it, and adds one trainer callback
that reads the clock at two steps, then runs the script as ``__main__``. It writes SETTINGS' ``clock_file``:
samples/s between the end of step ``skip_steps`` and the last step, the trainer's own whole-run figures, peak memory
and the prompt length in tokens.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path


def write_model(spec_path: str, out_dir: str) -> None:
    """A model folder written by this environment's transformers, so its loader reads every field."""
    import torch
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen2Config

    spec = json.loads(Path(spec_path).read_text())
    special = spec["special_tokens"]
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=spec["tokenizer_file"], eos_token=special["eos"],
                                        pad_token=special["pad"], additional_special_tokens=special["additional"])
    tokenizer.chat_template = spec["chat_template"]
    config = Qwen2Config(**spec["config"])
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_config(config, torch_dtype=getattr(torch, spec["dtype"]))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _set_task_defaults(task: dict) -> None:
    import dataclasses

    from arc25.training_tasks import RandomDrawingTaskOnEmptyImg

    fields = dataclasses.fields(RandomDrawingTaskOnEmptyImg)
    unknown = set(task) - {f.name for f in fields}
    if unknown:
        raise SystemExit(f"error: the journal's RandomDrawingTaskOnEmptyImg has no field(s) {sorted(unknown)}")
    RandomDrawingTaskOnEmptyImg.__init__.__defaults__ = tuple(task.get(f.name, f.default) for f in fields)


def _prompt_tokens(model_path: str, n: int, seed: int) -> list[int]:
    """Token counts of ``n`` of the journal's own prompts for these task settings (what its samples/s is of)."""
    import random

    import numpy as np
    from transformers import AutoTokenizer

    from arc25.encoders import create_grid_encoder
    from arc25.prompting import create_prompt_from_task
    from arc25.training_tasks import RandomDrawingTaskOnEmptyImg

    # The journal's generator draws from the global RNGs; put them back so training sees what it would have.
    state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    encoder = create_grid_encoder("GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))")
    generator = RandomDrawingTaskOnEmptyImg()
    lengths = [len(tokenizer(create_prompt_from_task(generator.sample(), grid_encoder=encoder, tokenizer=tokenizer),
                             add_special_tokens=False)["input_ids"]) for _ in range(n)]
    random.setstate(state[0])
    np.random.set_state(state[1])
    return lengths


def _fitting_length(flags: list[str], lengths: list[int]) -> int:
    """--max-seq-len as given, raised to a multiple of 256 above the longest probed prompt if that does not fit:
    a truncated prompt loses the reply the journal's collator looks for, so its loss would be empty."""
    given = int(flags[[i for i, flag in enumerate(flags) if flag == "--max-seq-len"][-1] + 1])
    longest = max(lengths)
    return given if longest <= given else (longest * 105 // 100 // 256 + 1) * 256


def train(settings_path: str, flags: list[str]) -> None:
    import torch
    import transformers
    from transformers import TrainerCallback

    settings = json.loads(Path(settings_path).read_text())
    skip = settings["skip_steps"]
    _set_task_defaults(settings["task"])
    lengths = _prompt_tokens(settings["model_path"], settings["probe_samples"], settings["seed"])
    tokens = sum(lengths) / len(lengths)
    max_seq_len = _fitting_length(flags, lengths)
    flags = [*flags, "--max-seq-len", str(max_seq_len)]  # the later flag wins

    class StepClock(TrainerCallback):
        """Wall time from the end of step ``skip`` to the end of the last step: two syncs in the whole run."""

        def __init__(self):
            self.marks, self.reported, self.batch, self.optim = {}, {}, None, None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in (skip, state.max_steps):
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.marks[state.global_step] = time.perf_counter()
                self.batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
                self.optim = getattr(args.optim, "value", str(args.optim))

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.reported.update({k: v for k, v in (logs or {}).items() if k.startswith("train_")})

    clock = StepClock()
    # Every trainer built from here on gets the clock, the journal's SFTTrainer included.
    transformers.trainer.DEFAULT_CALLBACKS.append(clock)
    script = settings["script"]
    sys.argv = [script, *flags]
    runpy.run_path(script, run_name="__main__")

    last = max(clock.marks, default=0)
    seconds = clock.marks[last] - clock.marks[skip] if skip in clock.marks and last > skip else None
    samples_per_s = (last - skip) * clock.batch / seconds if seconds else None
    cuda = torch.cuda.is_available()
    Path(settings["clock_file"]).write_text(json.dumps({
        "samples_per_s": samples_per_s,
        "real_tokens_per_s": samples_per_s * tokens if samples_per_s else None,
        "tokens_per_sample": tokens,
        "prompt_tokens_max": max(lengths),
        "max_seq_len": max_seq_len,
        "steps_measured": last - skip if seconds else 0,
        "batch": clock.batch,
        "optim": clock.optim,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "train_samples_per_second": clock.reported.get("train_samples_per_second"),
        "train_runtime": clock.reported.get("train_runtime"),
        "train_loss": clock.reported.get("train_loss"),
        "global_step": last,
        "versions": {name: __import__(name).__version__ for name in ("torch", "transformers", "trl", "peft",
                                                                      "accelerate", "datasets")},
    }, indent=2))


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[0] == "write-model":
        write_model(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "train" and argv[2] == "--":
        train(argv[1], argv[3:])
    else:
        raise SystemExit("usage: arc25/commands/journal_env/launch.py write-model SPEC.json OUT_DIR | train SETTINGS.json -- FLAGS...")


if __name__ == "__main__":
    main(sys.argv[1:])
