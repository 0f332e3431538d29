"""Regional torch.compile: each decoder layer compiled in place, one compiled code shared by the layers of a class.

Compiling the whole model (``--torch-compile``) traces peft's wrapper, the loss head and every shape the model
meets; its first step took 145 s on an H100. Compiling the repeated block instead costs one trace per layer class:
dynamo caches compiled code per code object, and every layer of one class runs the same ``forward`` with guards
that hold for all of them (their weights are inputs of the graph, not constants). Compiled with dynamic shapes
from the start, rows of a new length (``--token-budget``'s packed rows, padded batches of another width) reuse the
code instead of recompiling each step. State-dict names stay as they were, so checkpoints and adapters load either
way.

``CompileStats`` counts what dynamo compiles during training (frames, recompiles, seconds) and writes it to
``compile.json`` beside the run's other figures.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

BACKEND = "inductor"
STATS_FILE = "compile.json"


def decoder_layers(model) -> list:
    """The model's repeated blocks, outermost only: the modules whose class the transformers model names in
    ``_no_split_modules`` (the blocks it never splits across devices), found under a peft wrapper too."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    classes = set(getattr(base, "_no_split_modules", None) or ())
    found: dict[str, object] = {}
    for name, module in base.named_modules():
        if type(module).__name__ in classes and not any(name.startswith(outer + ".") for outer in found):
            found[name] = module
    if not found:
        raise ValueError(f"--compile-layers found no decoder layers in {type(base).__name__} (it names "
                         f"{sorted(classes) or 'no'} repeated block classes in _no_split_modules)")
    return list(found.values())


def compile_layers(model, backend: str | None = None) -> dict[str, int]:
    """Compile every decoder layer of ``model`` in place (dynamic shapes) with ``backend`` (default ``BACKEND``);
    returns how many layers of each class."""
    import torch.fx.experimental._config as fx_config

    backend = backend or BACKEND
    layers = decoder_layers(model)
    # Duck sizing gives sizes that happen to be equal one symbol: a packed row of 13 samples (14 offsets) would
    # tie the offsets' length to a 14-head model's head count, and the next row would recompile.
    fx_config.use_duck_shape = False
    for layer in layers:
        layer.compile(backend=backend, dynamic=True)
    by_class = Counter(type(layer).__name__ for layer in layers)
    logger.info("compiled in place (%s, dynamic shapes): %s", backend,
                ", ".join(f"{n} x {name}" for name, n in by_class.items()))
    return dict(by_class)


_COMPILE_ID = re.compile(r"(\d+)/(\d+)")


class CompileStats(TrainerCallback):
    """What dynamo compiles while it is installed: each compile's frame, attempt, trigger, seconds and when.

    A frame is one code object dynamo traces (a layer's forward, or the code resuming after a graph break); a
    recompile is a second compile of the same frame because its guards failed (a new shape, a tensor that now
    requires grad, evaluation mode). As a trainer callback it installs itself for the run, tells compiles in the
    first training step from those in later ones and from those outside the steps (evaluation, generation), and
    writes ``compile.json``; as a context manager it counts whatever runs inside.
    """

    def __init__(self):
        self.events: list[dict] = []
        self.steps_begun = 0
        self.in_step = False
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    # dynamo calls these with the compile's trigger (a new frame, a deferred backward) and its id, "frame/attempt".
    def _start(self, args) -> None:
        with self._lock:
            self._started[str(args.compile_id)] = time.perf_counter()

    def _end(self, args) -> None:
        now = time.perf_counter()
        with self._lock:
            started = self._started.pop(str(args.compile_id), now)
            match = _COMPILE_ID.search(str(args.compile_id))
            self.events.append({
                "trigger": args.callback_trigger.name, "frame": int(match[1]) if match else None,
                "attempt": int(match[2]) if match else None, "seconds": now - started,
                "step": self.steps_begun if self.in_step else None})

    def install(self) -> "CompileStats":
        from torch._dynamo.callback import callback_handler

        callback_handler.register_start_callback(self._start)
        callback_handler.register_end_callback(self._end)
        return self

    def remove(self) -> None:
        from torch._dynamo.callback import callback_handler

        callback_handler.remove_start_callback(self._start)
        callback_handler.remove_end_callback(self._end)

    def __enter__(self) -> "CompileStats":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.remove()

    def summary(self) -> dict:
        """Seconds (forward and deferred backward compiles), frames, compiles and recompiles; with the trainer, the
        compiles of the first training step, of later steps (new row lengths should add none) and outside steps."""
        traced = [e for e in self.events if e["trigger"] == "DYNAMO"]
        out = {
            "compile_s": round(sum(e["seconds"] for e in self.events), 2),
            "frames": len({e["frame"] for e in traced}),
            "compiles": len(traced),
            "recompiles": sum(1 for e in traced if e["attempt"]),
            "backward_compiles": len(self.events) - len(traced),
        }
        if self.steps_begun:
            out.update(first_step_compiles=sum(1 for e in traced if e["step"] == 1),
                       later_step_compiles=sum(1 for e in traced if e["step"] is not None and e["step"] > 1),
                       outside_step_compiles=sum(1 for e in traced if e["step"] is None))
        return out

    # --- TrainerCallback ---
    def on_train_begin(self, args, state, control, **kwargs):
        self.install()

    def on_step_begin(self, args, state, control, **kwargs):
        self.steps_begun += 1
        self.in_step = True

    def on_step_end(self, args, state, control, **kwargs):
        self.in_step = False

    def on_train_end(self, args, state, control, **kwargs):
        self.remove()
        summary = self.summary()
        logger.info("compile: %s", json.dumps(summary))
        if state.is_world_process_zero:
            (Path(args.output_dir) / STATS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
