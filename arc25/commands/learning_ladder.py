"""The learning ladder: train a model on task distributions from easy to hard and measure what it can solve.

    # CPU preset (builtin tiny, two rungs, about 15 minutes on 2 cores)
    arc25-learning-ladder --config configs/recipes/ladder_cpu.yaml --output-dir runs/ladder-cpu
    # GPU preset (builtin small from scratch, one GPU)
    arc25-learning-ladder --config configs/recipes/ladder_gpu.yaml --output-dir runs/ladder-gpu
    # one rung, another encoder, a pretrained model
    arc25-learning-ladder --rungs h-line --model-path /models/Qwen2.5-Coder-0.5B-Instruct --output-dir runs/l
    # DSL v2 (generator families), then the real ARC-AGI-1 training tasks that have reference solutions
    arc25-learning-ladder --config configs/recipes/ladder_v2_cpu.yaml --output-dir runs/ladder-v2

For each rung (see --rungs), finetuning.py trains within --max-steps / --max-minutes (its recipe and log are
kept in <output-dir>/<rung>/), then one greedy and --n-samples sampled programs per held-out task are run and
scored. Beside every figure: what guessing gets (as many programs drawn from the rung's own generator).
With --real-tasks, each rung's model is also scored on real tasks (a greedy program and --real-samples sampled
ones; a program solves a task when it reproduces every train pair and the test outputs), beside guessing with
programs of the arc-v2 families at random slot values.
Writes <output-dir>/ladder.json, ladder.md (the table) and ladder.png (solve rate against training samples).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Annotated, Optional

import tyro

from arc25.cli.args import (DrawOrderArgs, ModelArgs, OptimArgs, OutputArgs, PromptArgs, SamplingArgs, ScheduleArgs,
                        SeedArgs, SeqLenArgs, TrainedPromptArgs, field_names)
from arc25.cli import fail, parse

DEFAULT_RUNGS = ["h-line", "1-draw"]
# The groups every rung's finetuning.py recipe takes as they are.
SHARED_WITH_TRAINING = (ModelArgs, SeedArgs, ScheduleArgs, OptimArgs, PromptArgs, SeqLenArgs, DrawOrderArgs)


# Bases are listed last-shown-first, as in finetuning.Config.
@dataclass(kw_only=True)
class Args(SamplingArgs, SeqLenArgs, TrainedPromptArgs, OptimArgs, ScheduleArgs, DrawOrderArgs, ModelArgs, SeedArgs,
           OutputArgs):
    """Train and evaluate a model on each rung of the learning ladder."""

    output_dir: str = "runs/ladder"
    max_minutes: Optional[float] = 10.0
    lr_scheduler_type: str = "linear"
    per_device_train_batch_size: int = 16
    max_seq_len: int = 2048
    n_samples: int = 8
    temperature: float = 0.5
    rungs: Annotated[list[str], tyro.conf.UseAppendAction] = field(default_factory=list)
    """Rungs to climb, in order: h-line, v-line, pixel, 1-draw, 1-3-draws, journal-iter4, default, v2-one-family,
    v2-all (repeat the flag; default: h-line, 1-draw)."""
    curriculum: bool = False
    """Start each rung from the previous rung's trained model instead of from --model-path."""
    curve_steps: int = 100
    """Log the greedy solve rate on --n-curve-tasks held-out tasks every this many steps (the plot's curve); 0 = off."""
    n_curve_tasks: int = 32
    """Held-out tasks of the training curve."""
    n_eval_tasks: int = 64
    """Held-out tasks each rung is scored on after training."""
    score_start: bool = False
    """Also score the model each rung starts from (greedy), for a before/after comparison."""
    real_tasks: Optional[str] = None
    """Real tasks to score each rung's model on: a task set (e.g. arc-agi-1-training:ID,ID) or 'references' (the
    ARC-AGI-1 training tasks with reference solutions); default: none."""
    real_samples: int = 2
    """Sampled programs per real task, beside the greedy one."""
    n_processes: int = 1
    """Data-parallel training processes per rung (accelerate launch on this machine), e.g. one per GPU; the CPU
    threads (OMP_NUM_THREADS, else every core) are split between them. Each rank reads its own --token-budget row
    per step, so the samples per step grow with the ranks."""
    extra: Annotated[list[str], tyro.conf.UseAppendAction] = field(default_factory=list)
    """More finetuning.py settings as KEY=VALUE (recipe keys), e.g. --extra lora_r=16 (repeatable)."""

    def validate(self) -> None:
        super().validate()
        from arc25.commands import ladder

        ladder.check_rungs(self.rung_names)
        if self.max_minutes is None:
            raise ValueError("--max-minutes must be a number: it time-boxes each rung")
        for name in ("n_curve_tasks", "n_eval_tasks"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.n_processes < 1:
            raise ValueError(f"--n-processes must be >= 1, got {self.n_processes}")
        if self.real_samples < 0:
            raise ValueError(f"--real-samples must be >= 0, got {self.real_samples}")
        if self.real_tasks is not None:
            self.load_real_tasks()
        if self.curve_steps < 0:
            raise ValueError(f"--curve-steps must be >= 0, got {self.curve_steps}")
        draw_order = self.train_settings().get("draw_order")
        for name in self.rung_names:  # a family rung refuses a draw order here, not after the first rung's training
            ladder.rung_mixture(ladder.RUNGS[name], draw_order)
        # The evaluation settings check themselves (temperature, sequence length) on construction.
        self.eval_settings(max_new_tokens=256)

    @property
    def rung_names(self) -> list[str]:
        return self.rungs or list(DEFAULT_RUNGS)

    def load_real_tasks(self) -> list:
        """The --real-tasks task set ('references': ARC-AGI-1 training tasks with a reference solution)."""
        from arc25.tasks.tasksets import load_task_set

        spec = self.real_tasks.strip()
        if spec == "references":
            from arc25.arc.references import load_references

            spec = "arc-agi-1-training:" + ",".join(ref.task_id for ref in load_references())
        if spec.partition(":")[0] == "synthetic":
            raise ValueError(f"--real-tasks {self.real_tasks!r} must be real tasks (a task set with test outputs), "
                             "not synthetic ones: the rungs already score those")
        tasks = load_task_set(spec)
        if not any(task.has_test for task in tasks):
            raise ValueError(f"--real-tasks {self.real_tasks!r} has no task with a test output to score")
        return tasks

    def extra_settings(self) -> dict:
        """--extra KEY=VALUE pairs as recipe values (YAML scalars), checked against finetuning.py's flags."""
        import dataclasses

        import yaml

        import finetuning

        known = {f.name for f in dataclasses.fields(finetuning.Config)}
        out = {}
        for item in self.extra:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in known:
                raise ValueError(f"--extra {item!r} must be KEY=VALUE with KEY one of finetuning.py's settings "
                                 "(flag names without dashes, e.g. lora_r=16)")
            out[key] = yaml.safe_load(value)
        return out

    def train_settings(self) -> dict:
        """The finetuning.py recipe every rung shares (the rung adds its task flags)."""
        settings = {name: getattr(self, name) for name in field_names(*SHARED_WITH_TRAINING)}
        settings.update(
            eval_steps=self.curve_steps, solve_rate_steps=self.curve_steps, n_eval_tasks=self.n_curve_tasks,
            n_solve_rate_tasks=self.n_curve_tasks, log_to_wandb=False, save_steps=10 * self.max_steps,
            resume_from_checkpoint=False, logging_steps=25,
        )
        return {**{k: v for k, v in settings.items() if v is not None}, **self.extra_settings()}

    def eval_settings(self, max_new_tokens: int):
        from arc25.cli.args import EvalSettings

        return EvalSettings(greedy=True, n_samples=self.n_samples, temperature=self.temperature,
                            max_new_tokens=max_new_tokens, max_seq_len=self.max_seq_len + max_new_tokens,
                            random_seed=self.random_seed, grid_encoder=self.grid_encoder,
                            prompt_style=self.prompt_style)


def _load_trained(path: str, args: Args, device):
    """What a rung starts from or trained (a builtin, a full model folder, or an adapter on its recorded base)."""
    from arc25.models import loading

    model_path, adapter_path = loading.split_trained(path)
    plan = loading.prepare(model_path, adapter_path, torch_dtype=args.torch_dtype, bf16=loading.bf16_device(device),
                           default_seed=args.random_seed)
    return loading.load_model(plan).to(device).eval(), plan.tokenizer


def _samples_seen(run_dir: Path, default: int) -> int:
    """Training samples the run read (its throughput summary's count; packed rows hold a varying number), else
    ``default`` (steps x batch)."""
    from arc25.train.metrics import SUMMARY_FILE

    path = run_dir / SUMMARY_FILE
    seen = json.loads(path.read_text()).get("samples_seen") if path.is_file() else None
    return int(seen) if seen else default


def _curve(run_dir: Path, batch_size: int) -> list[tuple[int, float]]:
    """(training samples, greedy solve rate) logged during training."""
    path = run_dir / "log_history.jsonl"
    if not path.is_file():
        return []
    points = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if "eval_solve_rate" in entry:
            points.append((entry["step"] * batch_size, entry["eval_solve_rate"]))
    return points


def format_table(rows: list[dict]) -> str:
    """The ladder's Markdown table: one line per rung, the guessing baseline in brackets."""
    from arc25.infer.report import percent, table

    header = ["rung", "model", "steps", "samples", "train min", "greedy (guess)", "pass@N (guess)",
              "greedy by draws", "greedy by function (1 draw)", "greedy by function (tasks calling it)"]
    lines = []
    for row in rows:
        model, guess = row["scores"]["model"], row["scores"]["guess"]
        pass_key = next((k for k in model["all"] if k.startswith("pass@")), None)
        def greedy_by(groups: dict) -> str:
            return ", ".join(f"{k.replace('draw_', '')}: {percent(v.get('greedy'), 0)}" for k, v in groups.items())

        draws = greedy_by(model["by_draws"])
        functions = greedy_by(model["by_function"])
        # Only where it says more than the 1-draw column: on rungs with compositions.
        in_any = greedy_by(model.get("by_function_in_any", {})) if len(model["by_draws"]) > 1 else ""
        cells = [
            row["rung"], row["model"], str(row["steps"]), f"{row['samples']:,}", f"{row['train_minutes']:.1f}",
            f"{percent(model['all'].get('greedy'), 0)} ({percent(guess['all'].get('greedy'), 0)})",
            f"{percent(model['all'].get(pass_key), 0)} ({percent(guess['all'].get(pass_key), 0)})" if pass_key else "-",
            draws or "-", functions or "-", in_any or "-",
        ]
        lines.append(cells)
    return table(header, lines, markdown=True)


def format_real_table(rows: list[dict], spec: str) -> str:
    """Each rung's model on the real tasks: solved by the greedy program and by any sampled one, guessing beside."""
    from arc25.infer.report import percent, table

    header = ["rung", "real tasks", "fit the context", "parsed", "greedy (guess)", "pass@N (guess)"]
    lines = []
    for row in rows:
        real = row["real"]
        model, guess = real["model"], real["guess"]
        pass_key = next((k for k in model if k.startswith("pass@")), None)
        lines.append([row["rung"], f"{spec} ({model['n']})", str(real["n_fit"]), percent(real["parse_rate"], 0),
                      f"{model['n_greedy']} = {percent(model['greedy'], 1)} ({guess['n_greedy']})",
                      f"{model['n_pass']} = {percent(model[pass_key], 1)} ({guess['n_pass']})" if pass_key else "-"])
    return table(header, lines, markdown=True)


def plot(rows: list[dict], path: Path) -> None:
    """Solve rate against training samples, one line per rung (final greedy rate as a marker)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for row in rows:
        curve = row["curve"]
        line = ax.plot([s for s, _ in curve], [100 * r for _, r in curve], marker=".", label=row["rung"])[0]
        final = row["scores"]["model"]["all"].get("greedy")
        if final is not None:
            ax.plot([row["samples"]], [100 * final], marker="*", markersize=12, color=line.get_color())
    ax.set_xlabel("training samples")
    ax.set_ylabel("greedy solve rate on held-out tasks (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(title="rung (star: final, larger held-out set)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(args: Args) -> list[dict]:
    """Climb every rung; returns one row per rung (also written to <output-dir>/ladder.json)."""
    import torch

    from arc25.commands import ladder
    from arc25.tasks import derive_seed
    from arc25.train.token_classes import class_losses
    from arc25.tasks.tasksets import synthetic_tasks

    # A ladder continued from a trained folder trains and scores it on the prompts it learnt, unless told otherwise.
    args.grid_encoder = args.trained_grid_encoder(args.model_path)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    settings = args.train_settings()
    real = args.load_real_tasks() if args.real_tasks else None
    rows: list[dict] = []
    previous: Path | None = None
    for index, name in enumerate(args.rung_names):
        rung = ladder.RUNGS[name]
        run_dir = out / name
        recipe = ladder.train_recipe(rung, settings)
        start = args.model_path
        if args.curriculum and previous is not None:
            start = str(previous)
            # A LoRA run continues its adapter on the same base; a full model continues as itself (its recorded
            # lineage says whether it trains in full, as arc25.models.loading decides for every command).
            if (previous / "adapter_config.json").is_file():
                recipe["adapter_path"] = str(previous)
            else:
                recipe["model_path"] = str(previous)
        print(f"[ladder] rung {index + 1}/{len(args.rung_names)} {name}: {rung.description}", flush=True)
        mixture = ladder.rung_mixture(rung, settings.get("draw_order"))
        tasks = synthetic_tasks(mixture, args.random_seed, args.n_eval_tasks)
        model, tokenizer = _load_trained(start, args, device)
        # Room for twice the longest true program: a model that writes it another way still fits.
        longest = max(len(tokenizer(t.code, add_special_tokens=False)["input_ids"]) for t in tasks)
        eval_settings = args.eval_settings(max_new_tokens=2 * longest + 32)
        before = dict(losses=class_losses(model, tokenizer, tasks, args.grid_encoder, args.prompt_style,
                                          mixture=mixture))
        guess_seed = derive_seed(args.random_seed, index)
        if args.score_start:
            before["scores"] = ladder.score_rung(model, tokenizer, tasks, replace(eval_settings, n_samples=0), rung,
                                                 seed=guess_seed)
        del model
        metrics = ladder.run_training(recipe, run_dir, timeout_s=60 * args.max_minutes + 600,
                                      n_processes=args.n_processes)
        model, tokenizer = _load_trained(str(run_dir / "final"), args, device)
        scores = ladder.score_rung(model, tokenizer, tasks, eval_settings, rung, seed=guess_seed)
        after = class_losses(model, tokenizer, tasks, args.grid_encoder, args.prompt_style, mixture=mixture)
        row = dict(rung=name, description=rung.description, model=Path(args.model_path).name,
                   steps=metrics["global_step"], samples=_samples_seen(run_dir, metrics["global_step"] * args.batch_size),
                   train_minutes=metrics["train_runtime"] / 60, eval_minutes=scores["eval_s"] / 60,
                   train_loss=metrics.get("train_loss"), temperature=args.temperature, scores=scores, losses=after,
                   before=before, real=None,
                   curve=_curve(run_dir, args.batch_size))
        rows.append(row)
        print(format_table([row]).splitlines()[-1], flush=True)
        # Written now as well: the synthetic figures stand even if scoring the real tasks is cut short.
        table = write_report(rows, args, out, device)
        if real is not None:
            print(f"[ladder] scoring {name}'s model on {len(real)} real tasks ({args.real_tasks})", flush=True)
            row["real"] = ladder.score_real(model, tokenizer, real, replace(eval_settings, n_samples=args.real_samples),
                                            seed=derive_seed(args.random_seed, index, 1))
            table = write_report(rows, args, out, device)
        previous = run_dir / "final"
        del model
    print(table)
    print()
    print(summary(rows, out))
    return rows


def write_report(rows: list[dict], args: Args, out: Path, device) -> str:
    """ladder.json, ladder.md and ladder.png for the rungs so far; the Markdown table."""
    import torch

    from arc25.train.run import git_commit

    table = format_table(rows)
    if any(row.get("real") for row in rows):
        table += "\n\n" + format_real_table([row for row in rows if row.get("real")], args.real_tasks)
    report = dict(config=asdict(args), git_commit=git_commit(), device=str(device),
                  device_name=torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                  torch_threads=torch.get_num_threads(), rows=rows)
    (out / "ladder.json").write_text(json.dumps(report, indent=2))
    (out / "ladder.md").write_text(table + "\n")
    plot(rows, out / "ladder.png")
    return table


def summary(rows: list[dict], out: Path) -> str:
    """What a newcomer wants to know, in plain lines: did it learn to read the grids?"""
    from arc25.infer.report import percent
    from arc25.train.token_classes import CLASSES

    lines = []
    for row in rows:
        model, guess = row["scores"]["model"]["all"], row["scores"]["guess"]["all"]
        lines.append(f"{row['rung']} ({row['description']}): {row['model']}, {row['steps']} steps, "
                     f"{row['samples']:,} samples, {row['train_minutes']:.1f} min of training")
        before, after = row["before"]["losses"], row["losses"]
        parts = [f"{c} {before[f'loss_{c}']:.2f} -> {after[f'loss_{c}']:.2f}"
                 + (f" (guessing {after[f'guess_{c}']:.2f})" if f"guess_{c}" in after else "")
                 for c in CLASSES if f"loss_{c}" in after and f"loss_{c}" in before]
        # On family rungs nearly every token is grammar to the classes (they see the v1 drawing calls only): say so,
        # and let the form line below tell whether the model chose the right program.
        form = row["scores"].get("form")
        where = " (classes of v1 drawing calls only)" if form and form["all"]["n"] else ""
        lines.append(f"  loss per program token{where}, before -> after training: " + "; ".join(parts))
        start = row["before"].get("scores", {}).get("model", {}).get("all", {}).get("greedy")
        lines.append(f"  greedy solve rate on {model['n']} held-out tasks: "
                     + (f"{percent(start, 0)} before -> " if start is not None else "")
                     + f"{percent(model.get('greedy'), 0)} after (guessing {percent(guess.get('greedy'), 0)})")
        pass_key = next((k for k in model if k.startswith("pass@")), None)
        if pass_key:
            lines.append(f"  {pass_key} (sampled at T={row['temperature']}): {percent(model[pass_key], 0)} "
                         f"(guessing {percent(guess[pass_key], 0)})")
        families = row["scores"]["model"].get("by_family") or {}
        if families:
            lines.append("  greedy by family: " + ", ".join(f"{k} {percent(v.get('greedy'), 0)} ({v['n']})"
                                                          for k, v in families.items()))
        if form and form["all"]["n"]:
            hits = [f"{k} {percent(v['form'], 0)}" for k, v in form["by_family"].items() if v["form"]]
            lines.append(f"  greedy programs in their task's form (the task's code up to its constants): "
                         f"{percent(form['all']['form'], 0)} of {form['all']['n']}"
                         + (f" ({', '.join(hits)}; other families none)" if hits else ""))
        real = row.get("real")
        if real:
            pass_key = next((k for k in real["model"] if k.startswith("pass@")), None)
            lines.append(f"  real tasks: {real['model']['n_greedy']} of {real['model']['n']} solved greedy"
                         + (f", {real['model']['n_pass']} by {pass_key}" if pass_key else "")
                         + f" ({real['n_fit']} fit the context; guessing {real['guess']['n_greedy']}"
                         + (f", {real['guess']['n_pass']}" if pass_key else "") + ")")
    lines.append(f"table: {out / 'ladder.md'}; every figure: {out / 'ladder.json'}; "
                 f"solve rate against samples: {out / 'ladder.png'}; each rung's run: {out}/<rung>/")
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> None:
    """arc25-learning-ladder: bad input exits 2 with one line, before any training."""
    args = parse(Args, argv, description=__doc__)
    try:
        main(args)
    except ValueError as err:
        fail(str(err))


if __name__ == "__main__":
    cli()
