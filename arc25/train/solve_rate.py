"""A trainer callback that measures what training is for: how many held-out tasks greedy decoding solves.

Every N optimizer steps it greedy-decodes one program per task of a small, fixed, held-out synthetic set,
runs them in the sandbox and logs ``eval_solve_rate``, ``eval_solve_rate_draws_<k>`` and parse/run/pixel
figures through the trainer, so they reach the console and every tracker.

With several processes the tasks are split across ranks; each rank generates its share in lockstep
(``synced_gpus``, so sharded models never wait on a rank that has finished) and the tallies are gathered,
so every rank logs the same numbers and none is left waiting in a collective.

The tasks come from training's own mixture (its --mixture and overrides) on the held-out stream of --random-seed:
the tasks ``scripts/evaluate.py --task-set synthetic:MIXTURE`` starts from with the same seed and overrides, except
that a task whose prompt and program budget would not fit --max-seq-len is passed over here (evaluate reports it
as skipped instead), so the two sets part at the first such task.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager

from transformers import TrainerCallback

from arc25.infer.generation import PromptEncoder, generate_completions, too_long
from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE, parse_code
from arc25.infer.scoring import score_tasks
from arc25.tasks import Mixture
from arc25.tasks.tasksets import EvalTask, synthetic_tasks
from arc25.train.run import rank_and_world

logger = logging.getLogger("arc25.train.solve_rate")

__all__ = ["SolveRateCallback"]


class SolveRateCallback(TrainerCallback):
    """Every ``every_n_steps`` steps, log the greedy solve rate on ``n_tasks`` held-out synthetic tasks.

    Call ``bind(trainer)`` once the trainer exists: the figures then go through ``Trainer.log`` (console,
    W&B, tensorboard, log_history) and the model is unwrapped by the trainer's accelerator. Unbound, they
    are only appended to ``state.log_history`` and logged with ``logging``.
    """

    def __init__(
        self,
        tokenizer,
        mixture: str | Mixture,
        *,
        seed: int,
        n_tasks: int = 32,
        every_n_steps: int = 50,
        encoder_spec: str,
        prompt_style: str = DEFAULT_PROMPT_STYLE,
        max_seq_len: int = 8192,
        batch_size: int = 8,
        max_new_tokens: int | None = None,
        timeout_s: float = 1.0,
    ):
        if n_tasks < 1:
            raise ValueError(f"n_tasks must be >= 1, got {n_tasks}")
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.tokenizer = tokenizer
        self.every_n_steps = every_n_steps
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.trainer = None

        def budget(task: EvalTask) -> int:
            # Room for twice the true program: enough for a model that writes it another way, and a cap on
            # one that never stops.
            return max_new_tokens or 2 * len(tokenizer(task.code, add_special_tokens=False)["input_ids"]) + 32

        encode = PromptEncoder(tokenizer, encoder_spec, prompt_style)

        def fits(task: EvalTask) -> bool:
            return too_long(len(encode(task)), budget(task), max_seq_len) is None

        self.tasks = synthetic_tasks(mixture, seed, n_tasks, accept=fits)
        self.prompts = [encode(task) for task in self.tasks]
        self.max_new_tokens = max(budget(t) for t in self.tasks)

    def bind(self, trainer) -> "SolveRateCallback":
        """Log through this trainer and unwrap its model with its accelerator."""
        self.trainer = trainer
        return self

    # --- measuring ---
    @contextmanager
    def _generation_model(self, model):
        """The model to call generate on: unwrapped from DDP, ZeRO-3 parameters gathered, checkpointing off."""
        trainer = self.trainer
        if trainer is None:
            yield model
            return
        from arc25.models.compat import unwrap_for_generation

        with unwrap_for_generation(trainer) as unwrapped:
            yield unwrapped

    def _local_tallies(self, model, rank: int, world: int) -> list[tuple]:
        """(task index, n_draws, solved, parsed, ran, pixel accuracy) for this rank's share of the tasks."""
        share = list(range(rank, len(self.tasks), world))
        # Every rank runs the same number of batches (synced_gpus needs it); padding rows repeat a task.
        per_rank = math.ceil(len(self.tasks) / world)
        rows = share + [share[0] if share else 0] * (per_rank - len(share))
        completions = generate_completions(
            model, self.tokenizer, [self.prompts[i] for i in rows], max_new_tokens=self.max_new_tokens,
            temperature=0.0, batch_size=self.batch_size, synced_gpus=world > 1,
        )[: len(share)]
        tasks = [self.tasks[i] for i in share]
        results = score_tasks(tasks, [[parse_code(c.text)] for c in completions], timeout_s=self.timeout_s)
        return [
            (i, task.n_draws, r.train_solved, r.programs[0].parses, r.programs[0].runs, r.programs[0].mean_train_accuracy)
            for i, task, r in zip(share, tasks, results)
        ]

    def measure(self, model) -> dict[str, float]:
        """Generate, run and score; every rank returns the same figures for the whole set."""
        rank, world = rank_and_world()
        with self._generation_model(model) as generation_model:
            tallies = self._local_tallies(generation_model, rank, world)
        if world > 1:
            import torch.distributed as dist

            gathered: list = [None] * world
            dist.all_gather_object(gathered, tallies)
            tallies = sorted(t for part in gathered for t in part)
        n = len(tallies)
        metrics = {
            "eval_solve_rate": sum(t[2] for t in tallies) / n,
            "eval_solve_parse_rate": sum(t[3] for t in tallies) / n,
            "eval_solve_run_rate": sum(t[4] for t in tallies) / n,
            "eval_solve_pixel_accuracy": sum(t[5] for t in tallies) / n,
            # Distinct tasks measured over all ranks: the whole set, once each, is what makes rates comparable.
            "eval_solve_n_tasks": len({t[0] for t in tallies}),
        }
        for draws in sorted({t[1] for t in tallies}):
            group = [t for t in tallies if t[1] == draws]
            metrics[f"eval_solve_rate_draws_{draws}"] = sum(t[2] for t in group) / len(group)
        return {key: round(value, 4) for key, value in metrics.items()}

    # --- TrainerCallback ---
    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0 or state.global_step % self.every_n_steps:
            return
        metrics = self.measure(model)
        if self.trainer is not None:
            from transformers import Trainer

            # Trainer.log itself, not the subclass's: trl's SFTTrainer.log would flush its running training
            # averages (token accuracy, entropy) into this entry and leave the next training log short.
            should_log = control.should_log
            Trainer.log(self.trainer, metrics)
            # Logging clears should_log, which would silently drop this step's training-loss entry.
            control.should_log = self.trainer.control.should_log = should_log
        else:
            state.log_history.append({**metrics, "step": state.global_step})
            if state.is_world_process_zero:
                logger.info("step %d: %s", state.global_step, metrics)
