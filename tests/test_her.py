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
from arc25.her.relabel import compose_programs, extend_programs, outputs_key, prune_dead_lines, relabel, removable_spans
from arc25.her.tuning import InMemoryTuner, TuningSettings
from arc25.infer.scoring import score_tasks
from arc25.tasks.tasksets import FAMILY_LIMITS, HELDOUT_KEY, TEST_TIME_KEY, EvalTask, load_task_set

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


def test_compose_joins_the_best_pairs_of_distinct_programs_and_skips_other_shapes():
    task = column_task()
    near = program("draw_vertical_line(img, 1, color=3)", "draw_pixel(img, (0, 0), color=3)")
    off = program("draw_vertical_line(img, 0, color=3)")
    far = program("draw_rectangle(img, (0, 0), (2, 4), color=8)")
    codes = [far, off, near,
             program("draw_vertical_line(img, 0, color=3)", "draw_vertical_line(img, 0, color=3)"),  # off's outputs
             "def task(img):\n    draw_vertical_line(img, 2, color=3)\n    return img.copy()",  # not `return img`
             "K = 2\ndef task(img):\n    draw_vertical_line(img, K, color=3)\n    return img",  # more than task
             "def task(grid):\n    draw_vertical_line(grid, 2, color=3)\n    return grid",  # another argument
             "def task(img):\n    return 1 / 0"]  # did not run
    scores = scores_of(task, codes)
    assert [s.runs for s in scores] == [True] * 7 + [False]

    def body(code):
        return code.split("\n")[1:-1]

    composed = compose_programs(scores, 4, len(task.train_inputs))
    # Best pairs first (near+off, off+near, near+far, far+near), each the first's draws then the second's.
    pairs = [(near, off), (off, near), (near, far), (far, near)]
    assert composed == [program(*[line.strip() for line in body(a) + body(b)]) for a, b in pairs]
    assert compose_programs(scores, 100, len(task.train_inputs))[4:] == [
        program(*[line.strip() for line in body(a) + body(b)]) for a, b in ((off, far), (far, off))]
    assert compose_programs(scores, 0, len(task.train_inputs)) == []
    # Bodies indented differently would not parse when joined: left out, not raised.
    two_space = "def task(img):\n  draw_vertical_line(img, 4, color=5)\n  return img"
    assert compose_programs(scores_of(task, [two_space, near]), 2, len(task.train_inputs)) == []


def test_extend_appends_other_programs_statements_to_the_best_ones():
    task = column_task()
    near = program("draw_vertical_line(img, 1, color=3)", "draw_pixel(img, (0, 0), color=3)")
    off = program("draw_vertical_line(img, 0, color=3)")
    far = program("draw_rectangle(img, (0, 0), (2, 4), color=8)", "draw_vertical_line(img, 1, color=3)")
    scores = scores_of(task, [far, off, near, "def task(img):\n    return 1 / 0"])
    line = {"col1": "draw_vertical_line(img, 1, color=3)", "pixel": "draw_pixel(img, (0, 0), color=3)",
            "col0": "draw_vertical_line(img, 0, color=3)", "rect": "draw_rectangle(img, (0, 0), (2, 4), color=8)"}
    # Bases best first (near, off, far); the pool is every statement once, best program's first; a base never
    # gets a statement it already holds.
    assert extend_programs(scores, 100, len(task.train_inputs)) == [
        program(line["col1"], line["pixel"], line["col0"]), program(line["col1"], line["pixel"], line["rect"]),
        program(line["col0"], line["col1"]), program(line["col0"], line["pixel"]), program(line["col0"], line["rect"]),
        program(line["rect"], line["col1"], line["pixel"]), program(line["rect"], line["col1"], line["col0"])]
    assert extend_programs(scores, 2, len(task.train_inputs)) == [
        program(line["col1"], line["pixel"], line["col0"]), program(line["col1"], line["pixel"], line["rect"])]
    assert extend_programs(scores, 0, len(task.train_inputs)) == []
    # A multi-line statement moves whole.
    loop = program("for c in (0, 2):", "    draw_vertical_line(img, c, color=3)")
    extended = extend_programs(scores_of(task, [off, loop]), 5, len(task.train_inputs))
    assert program(line["col0"], "for c in (0, 2):", "    draw_vertical_line(img, c, color=3)") in extended


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


def test_loop_trains_on_only_the_nearest_relabelled_tasks_when_asked():
    task = column_task()
    codes = [program("draw_vertical_line(img, 0, color=3)"),  # one column off
             program("draw_rectangle(img, (0, 0), (2, 4), color=8)"),  # far off
             program("draw_vertical_line(img, 1, color=3)", "draw_pixel(img, (0, 0), color=3)")]  # nearly right
    for k, expected in ((None, [codes[1], codes[0], codes[2]]), (1, [codes[2]]), (2, [codes[0], codes[2]])):
        tuner = RecordingTuner()
        outcome = run_task(task, ScriptedSampler([codes, codes]), tuner,
                           LoopSettings(max_epochs=2, timeout_s=2.0, max_relabelled=k))
        assert [h.task.code for h in tuner.batches[0]] == expected
        assert outcome.epochs[0].n_new_tasks == 3 and outcome.epochs[0].n_trained == len(expected)

class LossTuner(RecordingTuner):
    """Reports a fixed loss per relabelled program, so the loop's choice by loss is known in advance."""

    def __init__(self, loss_of):
        super().__init__()
        self.loss_of = loss_of

    def losses(self, tasks):
        return [self.loss_of[h.task.code] for h in tasks]


def test_loop_trains_on_the_relabelled_tasks_read_worst_when_asked():
    task = column_task()
    codes = [program("draw_vertical_line(img, 0, color=3)"),
             program("draw_rectangle(img, (0, 0), (2, 4), color=8)"),
             program("draw_vertical_line(img, 1, color=3)", "draw_pixel(img, (0, 0), color=3)")]
    # The farthest and the nearest program are read worst; the choice keeps relabel's worst-to-best order.
    tuner = LossTuner({codes[0]: 0.1, codes[1]: 2.0, codes[2]: 0.9})
    run_task(task, ScriptedSampler([codes, codes]), tuner,
             LoopSettings(max_epochs=2, timeout_s=2.0, max_relabelled=2, relabelled_by="loss"))
    assert [h.task.code for h in tuner.batches[0]] == [codes[1], codes[2]]
    # By accuracy the same k are the two nearest.
    tuner = LossTuner({codes[0]: 0.1, codes[1]: 2.0, codes[2]: 0.9})
    run_task(task, ScriptedSampler([codes, codes]), tuner, LoopSettings(max_epochs=2, timeout_s=2.0, max_relabelled=2))
    assert [h.task.code for h in tuner.batches[0]] == [codes[0], codes[2]]
    with pytest.raises(ValueError, match="relabelled_by must be one of accuracy, loss; got 'size'"):
        run_task(task, ScriptedSampler([codes, codes]), tuner,
                 LoopSettings(max_epochs=2, timeout_s=2.0, max_relabelled=2, relabelled_by="size"))


def test_loop_trains_on_composed_programs_but_takes_no_composed_solution():
    # The task needs two draws; the stand-in sampler only ever writes one of them at a time.
    inputs = [grid(), grid(3, 6, 2)]
    outputs = [g.copy() for g in inputs]
    for g in outputs:
        g[:, 1] = 3
        g[0, :] = 4
    task = EvalTask(task_id="two", train_inputs=inputs, train_outputs=outputs, test_inputs=[grid(5, 4, 7)],
                    test_outputs=[grid(5, 4, 7)], source="test")
    column, row = program("draw_vertical_line(img, 1, color=3)"), program("draw_horizontal_line(img, 0, color=4)")
    both = program("draw_vertical_line(img, 1, color=3)", "draw_horizontal_line(img, 0, color=4)")
    tuner = RecordingTuner()
    outcome = run_task(task, ScriptedSampler([[column, row]] * 3), tuner,
                       LoopSettings(max_epochs=3, timeout_s=2.0, n_composed=2))
    assert not outcome.solved and outcome.stop_reason == "max_epochs"
    first = outcome.epochs[0]
    assert first.n_composed == 2 and first.n_composed_solving == 1 and first.best_composed_accuracy == 1.0
    # The composition that solves the train pairs is trained on, last (the best); its reverse is a new task too.
    trained = [h.task.code for h in tuner.batches[0]]
    assert trained[-1] == both and len(trained) == 4
    assert outcome.epochs[-1].n_composed == 0  # nothing is trained after the last sampling: nothing composed
    plain = RecordingTuner()
    run_task(task, ScriptedSampler([[column, row]] * 2), plain, LoopSettings(max_epochs=2, timeout_s=2.0))
    assert sorted(h.task.code for h in plain.batches[0]) == sorted([column, row])
    # One statement appended to the best program: one new program, relabelled with the rest, never the solution.
    extended = RecordingTuner()
    outcome = run_task(task, ScriptedSampler([[column, row]] * 2), extended,
                       LoopSettings(max_epochs=2, timeout_s=2.0, n_extended=1))
    assert outcome.epochs[0].n_composed == 1 and not outcome.solved
    assert len(extended.batches[0]) == 3 and {column, row} < {h.task.code for h in extended.batches[0]}


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


def one_relabelled_task_and_tuner(tiny, **settings):
    """A relabelled column task and an in-memory tuner on the tiny model (LR 1e-3 unless told)."""
    tokenizer, model = tiny
    task = column_task()
    fresh, _ = relabel(task.train_inputs, scores_of(task, [program("draw_vertical_line(img, 2, color=3)")]), set())
    settings = {"learning_rate": 1e-3, "batch_size": 1, "max_seq_len": 4096, **settings}
    tuner = InMemoryTuner(model, tokenizer, TuningSettings(**settings), encoder_spec=DEFAULT_ENCODER_SPEC,
                          prompt_style="compact")
    return model, fresh, tuner


def test_tuner_trains_in_memory_and_reset_restores_the_initial_weights(tiny):
    import torch

    model, fresh, tuner = one_relabelled_task_and_tuner(tiny)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tuner.reset()
    first = tuner.train(fresh)
    second = tuner.train(fresh)
    assert first["n_examples"] == 1 and first["steps"] == 1 and second["loss"] < first["loss"]
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())
    tuner.reset()
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    assert tuner.train([])["steps"] == 0


def test_tuner_losses_score_without_training_and_fall_after_a_step(tiny):
    import torch

    model, fresh, tuner = one_relabelled_task_and_tuner(tiny)
    tuner.reset()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    (loss,) = tuner.losses(fresh)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    # The same loss the training step sees first, and lower after it.
    assert loss == pytest.approx(tuner.train(fresh)["loss"], rel=1e-4)
    assert tuner.losses(fresh)[0] < loss
    _, _, short = one_relabelled_task_and_tuner(tiny, max_seq_len=10)
    assert short.losses(fresh) == [float("-inf")]
    tuner.reset()


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


@pytest.mark.parametrize("spec, side", [("squares:6", 10), ("squares:25", 10), ("squares:9", 7), ("vertical-lines:5", 10),
                                        ("vertical-lines:2", 3), ("squares:1", 1)])
def test_family_task_sets_fit_a_max_side(spec, side):
    tasks = load_task_set(spec, n=8, seed=3, max_side=side)
    count = int(spec.split(":")[1])
    assert all(max(g.shape) <= side for t in tasks for g in t.train_inputs + t.test_inputs)
    assert all(t.code.count("draw_") == count for t in tasks)
    results = score_tasks(tasks, [[t.code] for t in tasks], timeout_s=5.0)
    assert all(r.train_solved and r.test_solved for r in results)
    # Without --max-side, the same tasks as before the override existed (grids up to 30).
    assert max(max(g.shape) for t in load_task_set(spec, n=8, seed=3) for g in t.train_inputs) > side


def test_family_task_sets_take_only_max_side():
    with pytest.raises(ValueError, match="take max_side"):
        load_task_set("squares:4", n=1, min_draws=2)
    with pytest.raises(ValueError, match=r"from 1 to 25 \(the most squares that fit in 10x10"):
        load_task_set("squares:26", n=1, max_side=10)


@pytest.mark.parametrize("spec", ["squares:0", f"squares:{FAMILY_LIMITS['squares'] + 1}", "squares:x", "squares",
                                  f"vertical-lines:{FAMILY_LIMITS['vertical-lines'] + 1}"])
def test_family_out_of_range_names_what_is_accepted(spec):
    with pytest.raises(ValueError, match=r"needs an integer N from 1 to \d+"):
        load_task_set(spec, n=1)


def _prepare(tmp_path, **flags):
    from arc25.commands.test_time_her import Config, prepare

    flags = {"task_set": "squares:2", "n": 1, **flags}
    return prepare(Config(output_dir=str(tmp_path / "out"), log_to_wandb=False, **flags))


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


# --- HER against sampling ---------------------------------------------------------------------------


class FlagTuner:
    """Stand-in tuner that only remembers whether it has trained since its last reset."""

    def __init__(self, clock=None, seconds_per_train=0.0):
        self.trained = False
        self.resets = 0
        self.clock, self.seconds_per_train = clock, seconds_per_train

    def reset(self):
        self.trained = False
        self.resets += 1

    def train(self, tasks):
        self.trained = True
        if self.clock is not None:
            self.clock.now += self.seconds_per_train
        return {"n_examples": len(tasks), "loss": 1.0}


class TunedOnlySampler:
    """Wrong programs from the initial weights, the right one once the tuner has trained: only HER can solve."""

    def __init__(self, tuner, n=3):
        self.tuner, self.n = tuner, n
        self.calls = []

    def __call__(self, task, epoch, seed):
        self.calls.append((self.tuner.trained, epoch, seed))
        if self.tuner.trained:
            return [reply(TARGET)] * self.n
        return [reply(program(f"draw_vertical_line(img, {k}, color=3)")) for k in range(2, 2 + self.n)]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def wrong_greedy(task):
    return [reply(program("draw_vertical_line(img, 0, color=3)"))]


def test_her_solves_what_sampling_cannot_when_only_tuning_helps_and_both_arms_share_their_seeds():
    from arc25.her.compare import COMPARISON_KEYS, compare_task, summarize

    tuner = FlagTuner()
    sampler = TunedOnlySampler(tuner)
    comparison = compare_task(column_task(), sampler, tuner, LoopSettings(max_epochs=4, timeout_s=2.0, random_seed=3),
                              greedy=wrong_greedy)
    assert comparison.her.solved and comparison.her.test_solved and len(comparison.her.epochs) == 2
    assert not comparison.sampling.solved and len(comparison.sampling.epochs) == 4
    assert not comparison.greedy_solved
    # Sampling draws from the reset model, with the seeds HER drew with: epoch 1 is the same call in both arms.
    her_calls, sampling_calls = sampler.calls[:2], sampler.calls[2:]
    assert her_calls == [(False, 1, her_calls[0][2]), (True, 2, her_calls[1][2])]
    assert [c[0] for c in sampling_calls] == [False] * 4 and sampling_calls[:2] == [(False, 1, her_calls[0][2]),
                                                                                    (False, 2, her_calls[1][2])]
    summary = summarize([comparison])
    assert tuple(summary) == COMPARISON_KEYS
    assert summary["solved_her"] == 1 and summary["solved_sampling"] == 0 and summary["solved_greedy"] == 0
    assert summary["executions_her"] == 6 and summary["executions_sampling"] == 12


def test_unsolved_tasks_cost_both_arms_the_same_executions_even_when_her_runs_out_of_time():
    from arc25.her.compare import compare_task, executions, summarize

    # New outputs every epoch, so there is always something to train on.
    never = ScriptedSampler([[program(f"draw_vertical_line(img, {k}, color={c})") for k in (2, 3)] for c in range(4, 10)])
    plain = compare_task(column_task(), never, FlagTuner(), LoopSettings(max_epochs=3, timeout_s=2.0),
                         greedy=wrong_greedy)
    assert executions(plain.her) == executions(plain.sampling) == 6
    # Training costs HER 100 s an epoch against a 150 s budget: it stops after 2 epochs, and so does sampling,
    # whose epochs cost no time here and would otherwise run all 5.
    clock = FakeClock()
    timed = compare_task(column_task(), never, FlagTuner(clock, 100.0),
                         LoopSettings(max_epochs=5, time_budget_s=150, timeout_s=2.0), greedy=wrong_greedy, clock=clock)
    assert timed.her.stop_reason == "time_budget" and len(timed.her.epochs) == 2
    assert len(timed.sampling.epochs) == 2 and executions(timed.sampling) == executions(timed.her) == 4
    summary = summarize([plain, timed])
    assert summary["tasks"] == 2 and summary["executions_her"] == summary["executions_sampling"] == 10
    # The sampling arm relabels and trains nothing.
    assert all(r.n_new_tasks == 0 and r.n_trained == 0 for r in plain.sampling.epochs)
    assert plain.her.epochs[0].n_new_tasks == 2


def test_epoch_rates_show_grid_text_duplicates_and_programs_that_run():
    from arc25.her.compare import compare_task, epoch_rates, format_rates

    grid_text = "0 0 0 0 0\n0 0 0 0 0"  # what a collapsed model writes: no code
    ok = reply(program("draw_vertical_line(img, 2, color=3)"))
    crash = reply("def task(img):\n    return 1 / 0")
    replies = [grid_text, grid_text, ok, ok, crash, reply(program("draw_vertical_line(img, 3, color=3)"))]
    comparison = compare_task(column_task(), lambda task, epoch, seed: list(replies), FlagTuner(),
                              LoopSettings(max_epochs=2, timeout_s=2.0), greedy=wrong_greedy)
    rows = epoch_rates([comparison])
    assert [(r["method"], r["epoch"]) for r in rows] == [("sampling", 1), ("sampling", 2), ("her", 1), ("her", 2)]
    first = rows[0]
    assert (first["n_sampled"], first["n_unique_replies"], first["n_parsed"], first["n_unique_programs"],
            first["n_ran"], first["n_unique_outputs"]) == (6, 4, 4, 3, 3, 2)
    assert first["parsed_rate"] == round(4 / 6, 4) and first["ran_rate"] == 0.5
    assert rows[2]["n_new_tasks"] == 2 and first["n_new_tasks"] == 0
    crashed = "task raised ZeroDivisionError: division by zero (1)"
    assert first["top_error"] == crashed and comparison.her.epochs[0].top_error == crashed
    assert first["mean_best_accuracy"] == round(comparison.sampling.epochs[0].best_accuracy, 4) < 1
    assert 0 < first["mean_accuracy"] < first["mean_best_accuracy"]
    assert "unique replies" in format_rates(rows) and "4 (67%)" in format_rates(rows)


def test_comparison_report_table_and_plot(tmp_path):
    from matplotlib.image import imread

    from arc25.her.compare import compare_task, plot_solved_against_executions, task_table

    tuner = FlagTuner()
    comparisons = [compare_task(column_task(), TunedOnlySampler(tuner), tuner,
                                LoopSettings(max_epochs=3, timeout_s=2.0), greedy=wrong_greedy)]
    right = compare_task(column_task(), ScriptedSampler([[TARGET]]), FlagTuner(), LoopSettings(max_epochs=3),
                         greedy=lambda task: [reply(TARGET)])
    comparisons.append(right)
    table_md = task_table(comparisons)
    assert "| column | - | no | - (9 run, best 0.63) | after 6, test right |" in table_md
    assert "| column | - | yes | after 1, test right | after 1, test right |" in table_md
    row = comparisons[0].to_json()
    assert row["her_solved_after"] == 6 and row["sampling_solved_after"] is None
    assert row["her_best_code"][-1] == TARGET and len(row["sampling_best_code"]) == 3
    path = tmp_path / "comparison.png"
    plot_solved_against_executions(comparisons, path, title="test")
    pixels = imread(path)
    assert min(pixels.shape[:2]) > 100 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2


def test_model_sampler_greedy_is_generate_at_temperature_zero(tiny):
    tokenizer, model = tiny
    task = column_task()
    sampler = ModelSampler(model, tokenizer, encoder_spec=DEFAULT_ENCODER_SPEC, prompt_style="compact",
                           max_new_tokens=10, max_seq_len=4096, n_low=1, low_temperature=0.1, n_high=1,
                           high_temperature=0.9, top_p=0.95, batch_size=2)
    (prompt,) = encode_prompts(tokenizer, [task], DEFAULT_ENCODER_SPEC)
    expected = generate_completions(model, tokenizer, [prompt], max_new_tokens=10, temperature=0.0)[0].text
    assert sampler.greedy(task) == [expected]


# --- task sets of a test-time run --------------------------------------------------------------------


def test_test_time_synthetic_tasks_take_the_overrides_and_their_own_seed_stream(tmp_path):
    from arc25.cli import DEFAULT_RANDOM_SEED
    from arc25.train.data import EVAL_KEY, GROUP_KEY, PROBE_KEY

    assert len({TEST_TIME_KEY, HELDOUT_KEY, EVAL_KEY, PROBE_KEY, GROUP_KEY}) == 5
    run = _prepare(tmp_path, task_set="synthetic:empty", n=6, n_inputs=1, min_draws=4, max_draws=6, min_side=3,
                   max_side=6)
    assert all(4 <= t.n_draws <= 6 and len(t.train_inputs) == 1 and max(t.train_inputs[0].shape) <= 6
               for t in run.tasks)
    assert {t.n_draws for t in run.tasks} != {4}
    # arc25-evaluate's held-out tasks with the same flags are other tasks.
    evaluated = load_task_set("synthetic:empty", n=6, seed=DEFAULT_RANDOM_SEED, n_inputs=1, min_draws=4,
                              max_draws=6, min_side=3, max_side=6)
    assert [outputs_key(t.train_outputs) for t in evaluated] != [outputs_key(t.train_outputs) for t in run.tasks]
    same = load_task_set("synthetic:empty", n=6, seed=DEFAULT_RANDOM_SEED, key=TEST_TIME_KEY, n_inputs=1, min_draws=4, max_draws=6,
                         min_side=3, max_side=6)
    assert [outputs_key(t.train_outputs) for t in same] == [outputs_key(t.train_outputs) for t in run.tasks]


def test_real_arc_tasks_by_id_in_the_order_given():
    tasks = load_task_set("arc-agi-1-training:00d62c1b,007bbfb7")
    assert [t.task_id for t in tasks] == ["00d62c1b", "007bbfb7"]
    assert all(t.has_test and t.task_set == "arc-agi-1-training:00d62c1b,007bbfb7" for t in tasks)
    assert [t.task_id for t in load_task_set("arc-agi-1-training:00d62c1b,007bbfb7", n=1)] == ["00d62c1b"]


@pytest.mark.parametrize("flags, message", [
    (["--task-set", "squares:4", "--min-draws", "4"], "--min-draws shapes none of squares:4"),
    (["--task-set", "squares:30", "--max-side", "10"], "from 1 to 25 (the most squares that fit in 10x10"),
    (["--compare-sampling", "--benchmark-sampling"], "--compare-sampling and --benchmark-sampling"),
    (["--task-set", "synthetic", "--min-draws", "5", "--max-draws", "2"], "draws"),
    (["--task-set", "arc-agi-1-training:nope"], "no task 'nope' in arc-agi-1-training"),
    (["--n-composed", "-1"], "--n-composed must be >= 0, got -1"),
    (["--n-extended", "-2"], "--n-extended must be >= 0, got -2"),
])
def test_bad_flags_are_one_line(flags, message, tmp_path, capsys):
    from arc25.commands import test_time_her

    with pytest.raises(SystemExit) as exit_info:
        test_time_her.main([*flags, "--output-dir", str(tmp_path / "x"), "--no-log-to-wandb"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith("error: ") and "\n" not in err and message in err, err


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
def test_cli_compare_sampling_end_to_end(python, tmp_path):
    from matplotlib.image import imread

    from arc25.her.compare import COMPARISON_KEYS

    out = tmp_path / "cmp"
    flags = [f if f != "squares:4" else "synthetic:empty" for f in SMOKE]
    proc = run_script([python, "scripts/test_time_her.py", *flags, "--n-inputs", "1", "--min-draws", "4",
                       "--max-draws", "6", "--max-side", "6", "--max-epochs", "2", "--compare-sampling",
                       "--output-dir", str(out)], timeout=240)
    summary = json.loads((out / "comparison.json").read_text())
    assert tuple(summary) == COMPARISON_KEYS and summary["tasks"] == 1
    # Random weights solve nothing: both arms run their whole budget, 2 epochs of 6 programs.
    assert summary["executions_her"] == summary["executions_sampling"] == 12
    assert summary["seconds_her"] > 0 and summary["seconds_sampling"] > 0
    (row,) = [json.loads(line) for line in (out / "comparison_tasks.jsonl").read_text().splitlines()]
    assert row["task_id"] == "synthetic-00000" and 4 <= row["n_draws"] <= 6 and len(row["her_best_code"]) == 2
    epochs = [json.loads(line) for line in (out / "comparison_epochs.jsonl").read_text().splitlines()]
    assert [(e["method"], e["epoch"]) for e in epochs] == [("sampling", 1), ("sampling", 2), ("her", 1), ("her", 2)]
    assert all(e["n_sampled"] == 6 and e["parsed_rate"] is not None for e in epochs)
    methods = [json.loads(line)["method"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert methods == ["her", "her", "sampling", "sampling", "her", "sampling"]
    assert "| synthetic-00000 |" in (out / "comparison_tasks.md").read_text()
    pixels = imread(out / "comparison.png")
    assert min(pixels.shape[:2]) > 100 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2
    assert "unique replies" in proc.stdout and '"solved_her": 0' in proc.stdout


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
    (["--max-relabelled", "0"], "--max-relabelled must be >= 1, got 0"),
    (["--relabelled-by", "size"], "invalid choice 'size' for argument '--relabelled-by'"),
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
    # The first Ctrl-C is taken at the end of an epoch, where nothing (tracker, sandbox batch) is mid-update.
    assert "stopping at the end of this epoch" in stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert lines[-1]["record"] == "task" and lines[-1]["stop_reason"] == "interrupted"
    assert lines[-1]["n_epochs"] >= 2 and "interrupted" in stdout
    assert (out / "plots" / "squares-4-000_scores.png").is_file()
