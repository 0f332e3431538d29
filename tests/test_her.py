"""Test-time hindsight training: relabelling, the loop with a stand-in sampler, in-memory tuning, sampling, the CLI."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import ROOT, run_script, script_env

from arc25 import models
from arc25.models import loading
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC
from arc25.infer.generation import encode_prompts, generate_completions, sample_completions
from arc25.her.loop import LoopSettings, ModelSampler, run_task
from arc25.her.relabel import outputs_key, prune_dead_lines, relabel, removable_spans
from arc25.her.tuning import InMemoryTuner, TuningSettings
from arc25.infer.scoring import score_tasks
from arc25.tasks.tasksets import FAMILY_LIMITS, EvalTask, load_task_set

BG = 0


def grid(rows=4, cols=5, color=BG):
    return np.full((rows, cols), color, dtype=np.int64)


def program(*lines):
    return "def task(img):\n" + "".join(f"    {line}\n" for line in lines) + "    return img"


def reply(code):
    return f"```python\n{code}\n```"


# The task: paint column 1 with colour 3 on two inputs; the test input has another background.
TARGET = program("draw_vertical_line(img, 1, color=3)")


def column_task():
    inputs = [grid(), grid(3, 6, 2)]
    outputs = [g.copy() for g in inputs]
    for g in outputs:
        g[:, 1] = 3
    test_in = grid(5, 4, 7)
    test_out = test_in.copy()
    test_out[:, 1] = 3
    return EvalTask(task_id="column", train_inputs=inputs, train_outputs=outputs,
                    test_inputs=[test_in], test_outputs=[test_out], source="test")


def scores_of(task, codes):
    (result,) = score_tasks([task], [codes], timeout_s=2.0)
    return result.programs


class ScriptedSampler:
    """Stand-in for the model: a fixed list of replies per epoch, recording the calls."""

    def __init__(self, per_epoch):
        self.per_epoch = per_epoch
        self.calls = []

    def __call__(self, task, epoch, seed):
        self.calls.append((epoch, seed))
        return [reply(c) for c in self.per_epoch[epoch - 1]]


class RecordingTuner:
    def __init__(self):
        self.resets = 0
        self.batches = []

    def reset(self):
        self.resets += 1

    def train(self, tasks):
        self.batches.append(tasks)
        return {"n_examples": len(tasks), "loss": 1.0}


# --- relabelling ------------------------------------------------------------------------------------


def test_removable_spans_skip_return_and_shared_lines():
    code = "def task(img):\n    a = 1; b = 2\n    draw_pixel(img, (0, 0), color=1)\n    for i in range(2):\n" \
           "        draw_pixel(img, (i, 1), color=2)\n    return img"
    assert removable_spans(code) == [(3, 3), (4, 5)]  # "a = 1; b = 2" share line 2
    assert removable_spans("def task(img:\n    return img") == []
    assert removable_spans("x = 1\n") == []


def test_prune_drops_dead_lines_and_keeps_one_of_two_identical_draws():
    inputs = [grid(), grid(3, 3, 4)]
    # The pixel is painted over by the rectangle: dead. The two equal lines are each dead alone, not together.
    code = program("draw_pixel(img, (0, 0), color=5)", "draw_rectangle(img, (0, 0), (1, 1), color=2)",
                   "draw_horizontal_line(img, 2, color=6)", "draw_horizontal_line(img, 2, color=6)")
    (outputs,) = [s.predictions[:2] for s in scores_of(EvalTask("t", inputs, inputs), [code])]
    (pruned,) = prune_dead_lines([code], [inputs], [outputs])
    assert pruned == program("draw_rectangle(img, (0, 0), (1, 1), color=2)", "draw_horizontal_line(img, 2, color=6)")
    (rerun,) = scores_of(EvalTask("t", inputs, outputs), [pruned])
    assert rerun.train_solved


def test_relabel_keeps_shortest_code_drops_unchanged_and_never_retrains_seen():
    task = column_task()
    long_way = program("draw_pixel(img, (0, 0), color=9)", "draw_vertical_line(img, 2, color=3)",
                       "draw_pixel(img, (0, 0), color=9)")
    codes = [
        program("draw_vertical_line(img, 2, color=3)", "draw_pixel(img, (0, 2), color=3)"),  # dead pixel
        program("draw_vertical_line(img, 2, color=3)"),
        long_way,  # other outputs: (0, 0) becomes 9
        program("draw_pixel(img, (0, 0), color=img[0, 0])"),  # changes nothing
        "def task(img):\n    return 1 / 0",
    ]
    fresh, stats = relabel(task.train_inputs, scores_of(task, codes), seen := set(), timeout_s=2.0)
    by_code = {h.task.code: h for h in fresh}
    assert set(by_code) == {program("draw_vertical_line(img, 2, color=3)"),
                            program("draw_pixel(img, (0, 0), color=9)", "draw_vertical_line(img, 2, color=3)")}
    assert stats.n_valid == 4 and stats.n_unchanged == 1 and stats.n_new == 2 and stats.n_unique_outputs == 3
    for h in fresh:
        assert h.task.inputs == task.train_inputs
        assert not all(np.array_equal(a, b) for a, b in zip(h.task.outputs, task.train_inputs))
    assert len(seen) == 2
    again, stats = relabel(task.train_inputs, scores_of(task, codes), seen, timeout_s=2.0)
    assert again == [] and stats.n_seen == 2


def test_relabelled_tasks_come_worst_to_best():
    task = column_task()
    codes = [program("draw_vertical_line(img, 0, color=3)"),  # one column off
             program("draw_rectangle(img, (0, 0), (2, 4), color=8)"),  # far off
             program("draw_vertical_line(img, 1, color=3)", "draw_pixel(img, (0, 0), color=3)")]  # nearly right
    fresh, _ = relabel(task.train_inputs, scores_of(task, codes), set(), timeout_s=2.0)
    accuracies = [h.accuracy for h in fresh]
    assert accuracies == sorted(accuracies) and len(set(accuracies)) == 3
    assert fresh[-1].task.code == codes[2] and fresh[0].task.code == codes[1]


# --- the loop ---------------------------------------------------------------------------------------


def test_loop_stops_at_first_solving_program_and_scores_its_test_output():
    task = column_task()
    # Both epoch-2 programs solve the train pairs; only the first (in sampling order) counts, and it fails the
    # test input (it paints 3 only where the background is 0 or 2).
    overfit = program("if img[0, 0] in (0, 2):", "    draw_vertical_line(img, 1, color=3)")
    sampler = ScriptedSampler([[program("draw_vertical_line(img, 3, color=3)")], [overfit, TARGET], [TARGET]])
    tuner = RecordingTuner()
    records = []
    outcome = run_task(task, sampler, tuner, LoopSettings(max_epochs=5, timeout_s=2.0, random_seed=1), on_epoch=records.append)
    assert [c[0] for c in sampler.calls] == [1, 2]
    assert outcome.stop_reason == "solved" and outcome.solution == overfit and outcome.test_solved is False
    assert [r.solved for r in records] == [False, True] and records[1].test_solved is False
    assert tuner.resets == 1 and len(tuner.batches) == 1  # trained after epoch 1 only
    assert records[0].n_new_tasks == 1 and records[0].n_trained == 1

    right = run_task(task, ScriptedSampler([[TARGET]]), RecordingTuner(), LoopSettings(max_epochs=3, timeout_s=2.0))
    assert right.solution == TARGET and right.test_solved is True and len(right.epochs) == 1


def test_loop_stops_at_max_epochs_and_at_the_time_budget():
    task = column_task()
    wrong = [[program(f"draw_vertical_line(img, {k}, color=3)")] for k in (2, 3, 4, 0)]
    outcome = run_task(task, ScriptedSampler(wrong), RecordingTuner(), LoopSettings(max_epochs=3, timeout_s=2.0))
    assert outcome.stop_reason == "max_epochs" and len(outcome.epochs) == 3 and not outcome.solved
    # Epoch records say what training they did: none after the last sampling.
    assert [r.n_trained for r in outcome.epochs] == [1, 1, 0]

    ticks = iter(range(0, 10_000, 40))
    timed = run_task(task, ScriptedSampler(wrong), RecordingTuner(),
                     LoopSettings(max_epochs=4, time_budget_s=100, timeout_s=2.0), clock=lambda: next(ticks))
    assert timed.stop_reason == "time_budget" and len(timed.epochs) < 4


def test_hostile_samples_score_zero_and_the_loop_goes_on(tmp_path):
    task = column_task()
    marker = tmp_path / "escaped"
    hostile = [
        "def task(img):\n    while True:\n        pass",
        f"import os\ndef task(img):\n    os.system('touch {marker}')\n    return img",
        f"def task(img):\n    open('{marker}', 'w').write('x')\n    return img",
        "def task(img):\n    x = [0] * (10 ** 10)\n    return img",
        "def task(img):\n    return np.zeros((3000, 3000), dtype=int)",
        "def task(img):\n    return ['x' * 10 ** 8]",
        "def task(img):\n    return [[99]]",
        "def task(img):\n    raise SystemExit(3)",
        "not python at all (",
    ]
    sampler = ScriptedSampler([hostile, hostile + [TARGET]])
    outcome = run_task(task, sampler, RecordingTuner(), LoopSettings(max_epochs=3, timeout_s=1.0))
    first = outcome.epochs[0]
    assert first.best_accuracy == 0.0 and first.n_ran == 0 and first.n_new_tasks == 0
    assert outcome.solution == TARGET and outcome.test_solved is True
    assert not marker.exists()


def test_a_task_whose_prompt_does_not_fit_is_skipped(tiny):
    tokenizer, model = tiny
    sampler = ModelSampler(model, tokenizer, encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact",
                           max_new_tokens=16, max_seq_len=64, n_low=1, low_temperature=0.1, n_high=1,
                           high_temperature=0.9, top_p=0.95, batch_size=2)
    outcome = run_task(column_task(), sampler, RecordingTuner(), LoopSettings(max_epochs=2))
    assert outcome.stop_reason == "skipped" and "exceeds --max-seq-len 64" in outcome.skipped
    assert outcome.epochs == []


def test_sampler_halves_its_batch_when_the_gpu_runs_out_of_memory(tiny, monkeypatch):
    import torch

    from arc25.infer import generation

    tokenizer, model = tiny
    calls = []
    real = generation.sample_completions

    def flaky(*args, batch_size, **kwargs):
        calls.append(batch_size)
        if batch_size > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(*args, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(generation, "sample_completions", flaky)
    sampler = ModelSampler(model, tokenizer, encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact",
                           max_new_tokens=4, max_seq_len=4096, n_low=1, low_temperature=0.1, n_high=5,
                           high_temperature=0.9, top_p=0.95, batch_size=8)
    with pytest.warns(UserWarning, match="--sampling-batch-size now 2"):
        assert len(sampler(column_task(), 1, seed=0)) == 6
    assert calls == [8, 4, 2, 2] and sampler.batch_size == 2


# --- in-memory tuning -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    tokenizer = models.load_tokenizer("tiny")
    return tokenizer, models.load_model("tiny", tokenizer, seed=0)


def test_tuner_trains_in_memory_and_reset_restores_the_initial_weights(tiny):
    import torch

    tokenizer, model = tiny
    task = column_task()
    fresh, _ = relabel(task.train_inputs, scores_of(task, [program("draw_vertical_line(img, 2, color=3)")]), set())
    tuner = InMemoryTuner(model, tokenizer, TuningSettings(learning_rate=1e-3, batch_size=1, max_seq_len=4096),
                          encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tuner.reset()
    first = tuner.train(fresh)
    second = tuner.train(fresh)
    assert first["n_examples"] == 1 and first["steps"] == 1 and second["loss"] < first["loss"]
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())
    tuner.reset()
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    assert tuner.train([])["steps"] == 0


def test_loop_with_the_real_tuner_trains_on_relabelled_tasks(tiny):
    tokenizer, model = tiny
    task = column_task()
    tuner = InMemoryTuner(model, tokenizer, TuningSettings(learning_rate=1e-4, batch_size=2, max_seq_len=4096),
                          encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact")
    sampler = ScriptedSampler([[program(f"draw_vertical_line(img, {k}, color=3)") for k in (0, 2, 3)], [TARGET]])
    outcome = run_task(task, sampler, tuner, LoopSettings(max_epochs=2, timeout_s=2.0))
    assert outcome.epochs[0].n_trained == 3 and outcome.epochs[0].train_loss > 0
    assert outcome.solved
    tuner.reset()


def test_bf16_autocast_path_of_sampler_and_tuner_runs_on_cpu(tiny):
    # The CUDA run takes these paths with bf16 autocast; CPU autocast exercises the same code here.
    import torch

    tokenizer, model = tiny
    task = column_task()
    sampler = ModelSampler(model, tokenizer, encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact",
                           max_new_tokens=8, max_seq_len=4096, n_low=1, low_temperature=0.1, n_high=3,
                           high_temperature=0.9, top_p=0.95, batch_size=2, autocast_dtype=torch.bfloat16)
    assert len(sampler(task, 1, seed=3)) == 4
    tuner = InMemoryTuner(model, tokenizer, TuningSettings(learning_rate=1e-4, max_seq_len=4096),
                          encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact", autocast_dtype=torch.bfloat16)
    fresh, _ = relabel(task.train_inputs, scores_of(task, [program("draw_vertical_line(img, 2, color=3)")]), set())
    tuner.reset()
    assert np.isfinite(tuner.train(fresh)["loss"])
    tuner.reset()
    assert all(p.dtype == torch.float32 for p in model.parameters())


# --- sampling ---------------------------------------------------------------------------------------


def test_shared_prefill_sampling_matches_generate_and_top_p_narrows_to_greedy(tiny):
    tokenizer, model = tiny
    (prompt,) = encode_prompts(tokenizer, [column_task()], DEFAULT_ENCODER_SPEC)
    shared = sample_completions(model, tokenizer, prompt, 4, max_new_tokens=12, temperature=1.0, top_p=0.9, seed=5,
                                batch_size=4)
    # Rows that never finish draw the same tokens as generate's seeded sampler on the repeated prompt.
    assert not any(c.finished for c in shared)
    repeated = generate_completions(model, tokenizer, [prompt] * 4, max_new_tokens=12, temperature=1.0, top_p=0.9,
                                    seed=5, batch_size=4)
    assert [c.text for c in shared] == [c.text for c in repeated]
    assert len({c.text for c in shared}) > 1
    greedy = generate_completions(model, tokenizer, [prompt], max_new_tokens=12, temperature=0.0)[0].text
    narrow = sample_completions(model, tokenizer, prompt, 3, max_new_tokens=12, temperature=1.0, top_p=1e-6, seed=5)
    assert [c.text for c in narrow] == [greedy] * 3
    other = sample_completions(model, tokenizer, prompt, 4, max_new_tokens=12, temperature=1.0, top_p=0.9, seed=6,
                               batch_size=4)
    assert [c.text for c in other] != [c.text for c in shared]
    with pytest.raises(ValueError, match="top_p"):
        sample_completions(model, tokenizer, prompt, 1, max_new_tokens=4, top_p=0.0)


# --- task families ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["squares:1", "squares:4", "squares:16", "squares:100", "vertical-lines:1",
                                  "vertical-lines:9", "vertical-lines:15"])
def test_family_ground_truths_solve_their_tasks(spec):
    tasks = load_task_set(spec, n=3, seed=11)
    count = int(spec.split(":")[1])
    results = score_tasks(tasks, [[t.code] for t in tasks], timeout_s=5.0)
    assert all(r.train_solved and r.test_solved for r in results)
    for t in tasks:
        assert t.n_draws == count and t.code.count("draw_") == count
        assert all(max(g.shape) <= 30 for g in t.train_inputs + t.test_inputs)
    assert len({t.task_id for t in tasks}) == 3 and len({outputs_key(t.train_outputs) for t in tasks}) == 3


@pytest.mark.parametrize("spec", ["squares:0", f"squares:{FAMILY_LIMITS['squares'] + 1}", "squares:x", "squares",
                                  f"vertical-lines:{FAMILY_LIMITS['vertical-lines'] + 1}"])
def test_family_out_of_range_names_what_is_accepted(spec):
    with pytest.raises(ValueError, match=r"needs an integer N from 1 to \d+"):
        load_task_set(spec, n=1)


def _prepare(tmp_path, **flags):
    from arc25.commands.test_time_her import Config, prepare

    return prepare(Config(task_set="squares:2", n=1, output_dir=str(tmp_path / "out"), log_to_wandb=False, **flags))


def test_a_folder_trained_from_scratch_is_fine_tuned_in_full_with_the_builtin_tokenizer(tiny, tmp_path):
    tokenizer, model = tiny
    folder = tmp_path / "final"
    model.save_pretrained(folder)
    loading.write_training_info(folder, model_path="tiny", random_seed=7, prompt_style="compact",
                                grid_encoder="MinimalGridEncoder()")
    run = _prepare(tmp_path, model_path=str(folder))
    assert run.resolved["use_lora"] is False and run.resolved["trained_from"] == "tiny"
    assert run.resolved["grid_encoder"] == "MinimalGridEncoder()"  # the model's own, unless --grid-encoder says
    assert run.resolved["trainable_parameters"] == run.resolved["total_parameters"]
    assert run.tokenizer.get_vocab() == tokenizer.get_vocab()


def test_lora_for_pretrained_folders_and_continuing_an_adapter(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    tokenizer, model = tiny
    # A folder with no arc25_training.json counts as pretrained: a new LoRA adapter, unless --no-use-lora.
    pretrained = tmp_path / "pretrained"
    model.save_pretrained(pretrained)
    tokenizer.save_pretrained(pretrained)
    run = _prepare(tmp_path, model_path=str(pretrained), lora_r=4)
    assert run.resolved["use_lora"] and run.resolved["trainable_parameters"] < run.resolved["total_parameters"]
    run = _prepare(tmp_path, model_path=str(pretrained), use_lora=False)
    assert run.resolved["trainable_parameters"] == run.resolved["total_parameters"]
    base = models.load_model("tiny", tokenizer, seed=3)
    adapter = tmp_path / "adapter"
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")).save_pretrained(adapter)
    loading.write_training_info(adapter, model_path="tiny", random_seed=3, prompt_style="compact")
    run = _prepare(tmp_path, model_path="tiny", adapter_path=str(adapter))
    trainable = [n for n, p in run.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and "q_proj" in n for n in trainable)
    task = column_task()
    fresh, _ = relabel(task.train_inputs, scores_of(task, [program("draw_vertical_line(img, 2, color=3)")]), set())
    run.tuner.reset()
    assert run.tuner.train(fresh)["steps"] == 1


# --- the CLI ----------------------------------------------------------------------------------------

SMOKE = ["--task-set", "squares:4", "--n", "1", "--n-low-temperature", "2", "--n-high-temperature", "4",
         "--max-new-tokens", "32", "--no-log-to-wandb", "--no-progress"]


@pytest.mark.slow
def test_cli_end_to_end_writes_results_and_both_pngs(python, tmp_path):
    from matplotlib.image import imread

    out = tmp_path / "her"
    started = time.perf_counter()
    proc = run_script([python, "scripts/test_time_her.py", *SMOKE, "--max-epochs", "2", "--output-dir", str(out)],
                      timeout=120)
    assert time.perf_counter() - started < 120
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [line["record"] for line in lines] == ["epoch", "epoch", "task"]
    assert [line["n_sampled"] for line in lines[:2]] == [6, 6]
    assert lines[2]["task_id"] == "squares-4-000" and lines[2]["stop_reason"] == "max_epochs"
    for name in ("squares-4-000_scores.png", "squares-4-000_predictions.png"):
        pixels = imread(out / "plots" / name)  # a real picture: it decodes and draws something on its background
        assert min(pixels.shape[:2]) > 100 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2, name
    assert "pred/s" in proc.stdout and "solved 0/1" in proc.stdout
    assert proc.stdout.count("sandbox isolation:") == 1  # the layers that guard this run, printed once
    assert "network" in json.loads((out / "config.json").read_text())["sandbox_isolation"]
    # --no-log-to-wandb means tensorboard, as in training: one event file with the per-epoch scalars.
    assert [p.name.startswith("events.out.tfevents") for p in (out / "tensorboard").iterdir()] == [True]


@pytest.mark.slow
def test_cli_benchmark_sampling_writes_predictions_per_second(python, tmp_path):
    out = tmp_path / "bench"
    run_script([python, "scripts/test_time_her.py", *SMOKE, "--max-new-tokens", "8", "--benchmark-sampling",
                "--output-dir", str(out)], timeout=120)
    report = json.loads((out / "benchmark.json").read_text())
    assert set(report["methods"]) == {"generate", "shared-prefill"} and report["n"] == 4
    assert all(m["predictions_per_s"] > 0 for m in report["methods"].values())
    assert not (out / "results.jsonl").exists()


@pytest.mark.slow
def test_cli_runs_a_real_arc_format_task(python, tmp_path):
    arc = {"train": [{"input": [[1, 1], [1, 1]], "output": [[5, 1], [1, 1]]},
                     {"input": [[2, 0, 0], [0, 0, 0]], "output": [[5, 0, 0], [0, 0, 0]]}],
           "test": [{"input": [[3, 3, 3]], "output": [[5, 3, 3]]}]}
    (tmp_path / "paint.json").write_text(json.dumps(arc))
    out = tmp_path / "her"
    flags = [f if f != "squares:4" else f"json:{tmp_path / 'paint.json'}" for f in SMOKE]
    run_script([python, "scripts/test_time_her.py", *flags, "--max-epochs", "1", "--output-dir", str(out)], timeout=120)
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(line["record"], line["task_id"]) for line in lines] == [("epoch", "paint"), ("task", "paint")]
    assert (out / "plots" / "paint_predictions.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("flags, message", [
    (["--task-set", "squares:0"], "squares:N needs an integer N from 1 to 225"),
    (["--task-set", "circles:3"], "unknown task set 'circles:3'"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--n-low-temperature", "0", "--n-high-temperature", "0"], "nothing to sample"),
    (["--benchmark-methods", "generate,vllm"], "--benchmark-methods: unknown 'vllm'"),
])
def test_cli_bad_input_is_one_line_and_exit_2(python, tmp_path, flags, message):
    proc = run_script([python, "scripts/test_time_her.py", *flags, "--output-dir", str(tmp_path / "x")],
                      timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip()[7:]}"] and message in proc.stderr


@pytest.mark.slow
def test_cli_skips_a_task_that_does_not_fit(python, tmp_path):
    out = tmp_path / "her"
    proc = run_script([python, "scripts/test_time_her.py", *SMOKE, "--max-seq-len", "100", "--output-dir", str(out)],
                      timeout=120)
    (line,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert line["stop_reason"] == "skipped" and "exceeds --max-seq-len 100" in line["skipped"]
    assert "skipped" in proc.stdout


@pytest.mark.slow
def test_cli_ctrl_c_ends_with_the_results_so_far(python, tmp_path):
    out = tmp_path / "her"
    proc = subprocess.Popen(
        [python, "scripts/test_time_her.py", *SMOKE, "--max-epochs", "1000", "--time-budget-s", "600",
         "--output-dir", str(out)],
        cwd=ROOT, env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (results.is_file() and results.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited early: {proc.communicate()}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert lines[-1]["record"] == "task" and lines[-1]["stop_reason"] == "interrupted"
    assert lines[-1]["n_epochs"] >= 2 and "interrupted" in stdout
    assert (out / "plots" / "squares-4-000_scores.png").is_file()
