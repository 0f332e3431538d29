"""The learning ladder on DSL v2: the family rungs, their guessing baseline, the by-family tally, real-task scoring."""

import itertools
import json
import random

import pytest
import yaml

from conftest import run_script

from arc25.commands import ladder
from arc25.tasks.families import FAMILIES, MIXTURE_WEIGHTS, normalize, render
from arc25.tasks.tasksets import synthetic_tasks


@pytest.mark.parametrize("name", ["v2-one-family", "v2-all"])
def test_v2_rungs_resolve_to_valid_recipes(name, tmp_path):
    import finetuning
    from arc25.cli import parse

    rung = ladder.RUNGS[name]
    recipe = ladder.train_recipe(rung, {"model_path": "tiny", "max_steps": 2})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(dict(recipe, output_dir=str(tmp_path / "run"))))
    cfg = parse(finetuning.Config, ["--config", str(path)])
    mixture = cfg.task_mixture()
    expected = [ladder.V2_ONE_FAMILY] if name == "v2-one-family" else list(MIXTURE_WEIGHTS)
    assert mixture.names == expected
    assert all(gen.n_inputs == 2 for _, _, gen in mixture.generators)
    # The rung's own mixture is the one training samples from.
    assert ladder.rung_mixture(rung).names == expected


def test_v2_guesses_are_family_templates_at_random_slots():
    from arc25.infer.scoring import score_tasks

    rung = ladder.RUNGS["v2-one-family"]
    tasks = synthetic_tasks(ladder.rung_mixture(rung), seed=3, n=24)
    guesses = ladder.guess_programs(tasks, rung, k=3, seed=0)
    assert guesses == ladder.guess_programs(tasks, rung, k=3, seed=0), "guesses must be seeded"
    assert guesses != ladder.guess_programs(tasks, rung, k=3, seed=1)
    family = FAMILIES[ladder.V2_ONE_FAMILY]
    # Every guess is the family's rendering of some slot values (this family's slots are all choices).
    assert all(slot.kind == "choice" for slot in family.all_slots)
    renderings = {render(family, normalize(family, dict(zip([s.name for s in family.all_slots], values))))
                  for values in itertools.product(*(s.values for s in family.all_slots))}
    assert all(code in renderings for row in guesses for code in row)
    assert len({code for row in guesses for code in row}) > 3, "slots must vary"
    results = score_tasks(tasks, guesses)
    # A random slot value may not fit the inputs (a guess that fails counts as unsolved), but most run.
    runs = [p.runs for r in results for p in r.programs]
    assert sum(runs) >= len(runs) // 2
    # The slots are pinned by the examples, so a random guess rarely reproduces them...
    assert sum(r.programs[0].train_solved for r in results) <= 6
    # ...while the truth, scored the same way, solves every task.
    assert all(r.train_solved for r in score_tasks(tasks, [[t.code] for t in tasks]))


def test_guesses_on_all_families_draw_the_family_per_program():
    rung = ladder.RUNGS["v2-all"]
    tasks = synthetic_tasks(ladder.rung_mixture(rung), seed=5, n=6)
    guesses = ladder.guess_programs(tasks, rung, k=8, seed=2)
    rng = random.Random(0)
    # Distinct programs across families: a guess does not know the task's family.
    assert len({code for row in guesses for code in row}) > 20
    assert ladder.family_guess(rng, FAMILIES["gravity"], tasks[0].train_inputs).startswith("def task(img):")


def test_solve_rates_by_family():
    rung = ladder.RUNGS["v2-all"]
    tasks = synthetic_tasks(ladder.rung_mixture(rung), seed=1, n=30)
    solved = [[i % 2 == 0, i % 3 == 0] for i in range(len(tasks))]
    rates = ladder.solve_rates(tasks, solved, greedy=True)
    assert rates["all"] == {"n": 30, "greedy": 0.5, "pass@1": 10 / 30}
    assert rates["by_function"] == {}
    assert sum(v["n"] for v in rates["by_family"].values()) == 30
    for name, figures in rates["by_family"].items():
        members = [i for i, t in enumerate(tasks) if t.source == name]
        assert figures["greedy"] == sum(i % 2 == 0 for i in members) / len(members)


def test_real_rates_count_greedy_and_sampled():
    rates = ladder._real_rates([[True, False, False], [False, False, True], [False, False, False], []], greedy=True)
    assert rates == {"n": 4, "n_greedy": 1, "greedy": 0.25, "n_pass": 1, "pass@2": 0.25}


def test_real_tasks_flag():
    from arc25.commands.learning_ladder import Args

    args = Args(real_tasks="references")
    tasks = args.load_real_tasks()
    from arc25.arc.references import load_references

    assert [t.task_id for t in tasks] == [r.task_id for r in load_references()]
    assert all(t.has_test for t in tasks)
    with pytest.raises(ValueError, match="must be real tasks"):
        Args(real_tasks="synthetic:arc-v2").load_real_tasks()
    with pytest.raises(ValueError, match="no task 'nope0000'"):
        Args(real_tasks="arc-agi-1-training:nope0000").load_real_tasks()


@pytest.mark.slow
def test_v2_rung_end_to_end(python, tmp_path):
    proc = run_script([python, "scripts/learning_ladder.py", "--output-dir", str(tmp_path), "--rungs", "v2-one-family",
                       "--max-steps", "2", "--max-seq-len", "1536", "--curve-steps", "0", "--n-eval-tasks", "3",
                       "--n-samples", "1", "--real-tasks", "arc-agi-1-training:007bbfb7,3c9b0459",
                       "--real-samples", "1"], timeout=900)
    report = json.loads((tmp_path / "ladder.json").read_text())
    [row] = report["rows"]
    assert row["rung"] == "v2-one-family" and row["steps"] == 2
    model = row["scores"]["model"]
    assert model["all"]["n"] == 3 and "pass@1" in model["all"]
    assert list(model["by_family"]) == [ladder.V2_ONE_FAMILY]
    assert row["scores"]["form"]["all"]["n"] == 3 and list(row["scores"]["form"]["by_family"]) == [ladder.V2_ONE_FAMILY]
    assert "greedy" in row["scores"]["guess"]["all"]
    real = row["real"]
    assert real["model"]["n"] == 2 and "pass@1" in real["model"] and "n_greedy" in real["guess"]
    assert 0 <= real["n_fit"] <= 2
    out = proc.stdout + proc.stderr
    assert "(classes of v1 drawing calls only)" in out and "greedy programs in their task's form" in out
    table = (tmp_path / "ladder.md").read_text()
    assert "| v2-one-family | tiny | 2 | 32 |" in table and "| real tasks |" in table


def test_a_skipped_task_counts_as_unsolved():
    # A held-out task whose prompt does not fit the context comes back with no programs.
    tasks = synthetic_tasks(ladder.rung_mixture(ladder.RUNGS["v2-all"]), seed=1, n=4)
    rates = ladder.solve_rates(tasks, [[True, True], [], [False, True], [False, False]], greedy=True)
    assert rates["all"] == {"n": 4, "greedy": 0.25, "pass@1": 0.5}


def test_program_form_blanks_constants_only():
    code = 'def task(img):\n    out = img.copy()\n    fill(out, cells_of(img, 3), 5)\n    return flip(out, "ud")\n'
    same = code.replace("3", "7").replace("5", "1").replace('"ud"', '"lr"')
    assert ladder.program_form(code) == ladder.program_form(same)
    assert ladder.program_form(code) != ladder.program_form(code.replace("flip", "rotate"))
    assert ladder.program_form(code) != ladder.program_form(code.replace("cells_of(img, 3)", "cells_of(out, 3)"))
    assert ladder.program_form("def task(img):\n    return (") is None
    assert ladder.program_form(None) is None


def test_form_rates_by_family():
    tasks = synthetic_tasks(ladder.rung_mixture(ladder.RUNGS["v2-all"]), seed=1, n=12)
    # The task's own code (spaced differently) is in form; another family's code, or no program, is not.
    other = {t.source: t.code for t in tasks}
    programs = []
    for i, task in enumerate(tasks):
        if i % 3 == 0:
            programs.append(task.code.replace("(img)", "(img) ", 1))
        elif i % 3 == 1:
            programs.append(next(code for name, code in other.items() if name != task.source))
        else:
            programs.append(None)
    rates = ladder.form_rates(tasks, programs)
    assert rates["all"] == {"n": 12, "form": 4 / 12}
    for name, figures in rates["by_family"].items():
        members = [i for i, t in enumerate(tasks) if t.source == name]
        assert figures == {"n": len(members), "form": sum(i % 3 == 0 for i in members) / len(members)}
