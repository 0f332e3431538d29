"""The learning ladder: rungs, guessing baselines, solve-rate tallies, the CLI end to end, and the learning check."""

import json

import pytest

from conftest import run_script

from arc25.commands import ladder
from arc25.tasks.tasksets import synthetic_tasks


def test_rungs_build_their_distributions():
    for name, rung in ladder.RUNGS.items():
        mixture = ladder.rung_mixture(rung)
        assert mixture.generators, name
    hline = ladder.rung_mixture(ladder.RUNGS["h-line"])
    [(_, _, cfg)] = hline.generators
    assert (cfg.functions, cfg.n_inputs, cfg.min_side, cfg.max_side, cfg.max_draws) == (
        ("draw_horizontal_line",), 1, 3, 6, 1)
    journal = ladder.rung_mixture(ladder.RUNGS["journal-iter4"]).generators[0][2]
    assert "flood_fill" not in journal.functions and journal.max_side == 10 and journal.max_draws == 5


def test_check_rungs_names_the_bad_one():
    with pytest.raises(ValueError, match="unknown rung 'h-lines'; valid: h-line, v-line"):
        ladder.check_rungs(["h-lines"])
    with pytest.raises(ValueError, match="given twice"):
        ladder.check_rungs(["pixel", "pixel"])


def test_guesses_come_from_the_rung_and_rarely_solve():
    from arc25.infer.scoring import score_tasks

    rung = ladder.RUNGS["h-line"]
    tasks = synthetic_tasks(ladder.rung_mixture(rung), seed=3, n=40)
    guesses = ladder.guess_programs(tasks, rung, k=2, seed=0)
    assert all(ladder.program_functions(code) == ["draw_horizontal_line"] for row in guesses for code in row)
    assert guesses == ladder.guess_programs(tasks, rung, k=2, seed=0), "guesses must be seeded"
    results = score_tasks(tasks, guesses)
    assert all(p.runs for r in results for p in r.programs)
    # A right-function guess still has to hit the row (3-6 choices) and the colour (9): a few percent.
    solved = sum(r.programs[0].train_solved for r in results)
    assert solved <= 6, solved
    # ...and the truth, run through the same path, solves every task: the scoring itself is sound.
    truth = score_tasks(tasks, [[t.code] for t in tasks])
    assert all(r.train_solved for r in truth)


def test_solve_rates_by_draws_and_function():
    rung = ladder.RUNGS["1-3-draws"]
    tasks = synthetic_tasks(ladder.rung_mixture(rung), seed=1, n=30)
    # Greedy solves the even tasks; a sample solves every third.
    solved = [[i % 2 == 0, False, i % 3 == 0] for i in range(len(tasks))]
    rates = ladder.solve_rates(tasks, solved, greedy=True)
    assert rates["all"] == {"n": 30, "greedy": 0.5, "pass@2": 10 / 30}
    assert sum(v["n"] for v in rates["by_draws"].values()) == 30
    one_draw = [i for i, t in enumerate(tasks) if t.n_draws == 1]
    assert sum(v["n"] for v in rates["by_function"].values()) == len(one_draw)
    for name, figures in rates["by_function"].items():
        members = [i for i in one_draw if ladder.program_functions(tasks[i].code)[0] == name]
        assert figures["greedy"] == sum(i % 2 == 0 for i in members) / len(members)
    # Over tasks of any length: a task counts once under every function it calls.
    for name, figures in rates["by_function_in_any"].items():
        members = [i for i, t in enumerate(tasks) if name in ladder.program_functions(t.code)]
        assert figures["n"] == len(members) and figures["greedy"] == sum(i % 2 == 0 for i in members) / len(members)
    assert sum(v["n"] for v in rates["by_function_in_any"].values()) > 30


def test_the_ladder_reports_the_samples_a_run_read(tmp_path):
    from arc25.commands.learning_ladder import _samples_seen
    from arc25.train.metrics import SUMMARY_FILE

    assert _samples_seen(tmp_path, 160) == 160  # no summary: steps x batch
    (tmp_path / SUMMARY_FILE).write_text(json.dumps({"samples_seen": 199}))
    assert _samples_seen(tmp_path, 160) == 199  # packed rows: what the throughput callback counted


def test_ranks_split_the_threads_and_launch_on_their_own_port():
    from arc25.commands.launch import finetuning_command, thread_env

    assert thread_env(2, {"OMP_NUM_THREADS": "2"})["OMP_NUM_THREADS"] == "1"
    assert thread_env(3, {"OMP_NUM_THREADS": "8", "KEEP": "x"}) == {"OMP_NUM_THREADS": "2", "KEEP": "x"}
    assert thread_env(4, {"OMP_NUM_THREADS": "2"})["OMP_NUM_THREADS"] == "1"  # at least one each
    one = finetuning_command(1)
    assert len(one) == 2 and one[1].endswith("finetuning.py")
    two = finetuning_command(2, port=29123)
    assert two[-1] == one[1] and ["--num_processes", "2"] == two[two.index("--num_processes"):][:2]
    assert ["--main_process_port", "29123"] == two[two.index("--main_process_port"):][:2]
    assert "--standalone" not in finetuning_command(2, "torchrun", port=29123)


def test_n_processes_is_checked(capsys):
    from arc25.cli import parse
    from arc25.commands.learning_ladder import Args

    with pytest.raises(SystemExit) as exit_info:
        parse(Args, ["--n-processes", "0"])
    assert exit_info.value.code == 2 and "--n-processes must be >= 1, got 0" in capsys.readouterr().err


def test_the_draw_order_reaches_the_recipe_and_the_held_out_programs(capsys):
    from arc25.cli import parse
    from arc25.commands.learning_ladder import Args

    args = parse(Args, ["--rungs", "1-3-draws", "--draw-order", "position"])
    assert args.train_settings()["draw_order"] == "position"
    assert "draw_order" not in parse(Args, ["--rungs", "1-3-draws"]).train_settings()
    extra = parse(Args, ["--draw-order", "position", "--extra", "draw_order=name"])
    assert extra.train_settings()["draw_order"] == "name"  # --extra has the last word, as for every setting
    rung = ladder.RUNGS["1-3-draws"]
    by_name = synthetic_tasks(ladder.rung_mixture(rung), 7, 60)
    by_position = synthetic_tasks(ladder.rung_mixture(rung, "position"), 7, 60)
    assert [t.train_outputs[0].tolist() for t in by_name] == [t.train_outputs[0].tolist() for t in by_position]
    assert any(a.code != b.code for a, b in zip(by_name, by_position))
    # Families write no draws: a v2 rung with a draw order is refused before any training.
    with pytest.raises(SystemExit) as exit_info:
        parse(Args, ["--rungs", "v2-all", "--draw-order", "position"])
    assert exit_info.value.code == 2 and "draw_order do not apply to family" in capsys.readouterr().err


@pytest.mark.slow
def test_bad_flags_fail_in_one_line(python):
    proc = run_script([python, "scripts/learning_ladder.py", "--rungs", "h-lines"], check=False, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "unknown rung 'h-lines'" in proc.stderr
    proc = run_script([python, "scripts/learning_ladder.py", "--extra", "no_such_flag=1"], check=False, timeout=120)
    assert proc.returncode == 2 and "--extra 'no_such_flag=1'" in proc.stderr


def _ladder(python, out, *flags, timeout=600):
    return run_script([python, "scripts/learning_ladder.py", "--output-dir", str(out), *flags], timeout=timeout)


@pytest.mark.slow
def test_cli_end_to_end(python, tmp_path):
    proc = _ladder(python, tmp_path, "--rungs", "h-line", "--rungs", "pixel", "--curriculum", "--max-steps", "2",
                   "--curve-steps", "1", "--n-curve-tasks", "2", "--n-eval-tasks", "3", "--n-samples", "2")
    # Draw rungs: the token classes are the measure, with no v2 caveat and no form line.
    out = proc.stdout + proc.stderr
    assert "loss per program token, before -> after" in out and "task's form" not in out
    report = json.loads((tmp_path / "ladder.json").read_text())
    rows = report["rows"]
    assert [r["rung"] for r in rows] == ["h-line", "pixel"]
    for row in rows:
        assert row["steps"] == 2 and row["samples"] == 32
        assert row["scores"]["model"]["all"]["n"] == 3 and "pass@2" in row["scores"]["model"]["all"]
        assert "greedy" in row["scores"]["guess"]["all"]
        assert [s for s, _ in row["curve"]] == [16, 32]
    # The second rung started from the first one's model (--curriculum).
    recipe = (tmp_path / "pixel" / "recipe.yaml").read_text()
    assert f"model_path: {tmp_path / 'h-line' / 'final'}" in recipe
    # A folder trained from tiny continues in full at the from-scratch rate: its lineage says so (arc25.models.loading).
    resolved = json.loads((tmp_path / "pixel" / "cfg.json").read_text())
    assert resolved["use_lora"] is False and resolved["from_scratch"] is True and resolved["learning_rate"] == 1e-3
    assert (tmp_path / "ladder.png").stat().st_size > 1000
    table = (tmp_path / "ladder.md").read_text()
    assert table.startswith("| rung | model |") and "| h-line | tiny | 2 | 32 |" in table


@pytest.mark.slow
def test_two_training_processes_per_rung_in_position_order(python, tmp_path):
    """--n-processes 2 trains each rung as two gloo ranks (one thread each here) and scores the result."""
    _ladder(python, tmp_path, "--rungs", "1-3-draws", "--n-processes", "2", "--max-steps", "2", "--batch-size", "4",
            "--per-device-train-batch-size", "2", "--curve-steps", "0", "--n-eval-tasks", "2", "--n-samples", "0",
            "--max-seq-len", "1024", "--draw-order", "position")
    [row] = json.loads((tmp_path / "ladder.json").read_text())["rows"]
    assert row["steps"] == 2 and row["scores"]["model"]["all"]["n"] == 2
    run = tmp_path / "1-3-draws"
    assert json.loads((run / "cfg.json").read_text())["world_size"] == 2
    assert "draw_order: position" in (run / "recipe.yaml").read_text()
    launch = (run / "train.log").read_text().splitlines()[0]
    assert "accelerate.commands.launch" in launch and "--num_processes 2" in launch


@pytest.mark.slow
def test_tiny_learns_to_read_the_easiest_rung(python, tmp_path):
    """The check that would have caught models which learn the grammar but not the grid.

    A seeded run of a few minutes on one-horizontal-line tasks must solve held-out tasks far more often than
    guessing (right function, random row and colour: a few percent) does.
    """
    # Batch 8 at twice the preset's LR learns as fast per step as batch 16 (98 % at 300 steps; 150 steps was still
    # at guessing) in half the time; batch 8 at the preset's LR had not learnt the colour by step 300.
    _ladder(python, tmp_path, "--rungs", "h-line", "--max-steps", "300", "--batch-size", "8",
            "--per-device-train-batch-size", "8", "--learning-rate", "2e-3", "--max-minutes", "30",
            "--curve-steps", "0", "--n-eval-tasks", "48", "--n-samples", "0", "--max-seq-len", "1024",
            timeout=2400)
    [row] = json.loads((tmp_path / "ladder.json").read_text())["rows"]
    model, guess = row["scores"]["model"]["all"]["greedy"], row["scores"]["guess"]["all"]["greedy"]
    assert guess < 0.1, guess
    # Measured 100% at 300 steps on 2026-11-30 (docs/results/2026-11-30-learning-ladder.md); the journal's encoding
    # with program-only loss got 5%.
    assert model >= 0.5 and model >= guess + 0.4, (model, guess)
    losses = row["losses"]
    assert losses["loss_row"] < 0.5 * losses["guess_row"] and losses["loss_color"] < 0.5 * losses["guess_color"], losses


@pytest.mark.slow
def test_curriculum_continues_a_lora_adapter_on_a_pretrained_folder(python, tmp_path):
    """A pretrained folder trains LoRA; with --curriculum the next rung continues that adapter on the same base."""
    from arc25 import models

    tok = models.load_tokenizer("tiny")
    base = tmp_path / "base"
    models.load_model("tiny", tok, seed=3).save_pretrained(str(base))
    tok.save_pretrained(str(base))
    out = tmp_path / "ladder"
    _ladder(python, out, "--model-path", str(base), "--rungs", "pixel", "--rungs", "v-line", "--curriculum",
            "--max-steps", "2", "--curve-steps", "0", "--n-eval-tasks", "2", "--n-samples", "0")
    recipe = (out / "v-line" / "recipe.yaml").read_text()
    assert f"adapter_path: {out / 'pixel' / 'final'}" in recipe and f"model_path: {base}" in recipe
    assert (out / "v-line" / "final" / "adapter_config.json").is_file()
    rows = json.loads((out / "ladder.json").read_text())["rows"]
    assert [r["rung"] for r in rows] == ["pixel", "v-line"] and all(r["scores"]["model"]["all"]["n"] == 2 for r in rows)
