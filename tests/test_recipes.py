"""configs/recipes/: every recipe loads under the command its first line names, and flags override it."""

from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import finetuning
from arc25.cli import parse
from arc25.commands import evaluate, learning_ladder, test_time_her

RECIPES = sorted((ROOT / "configs" / "recipes").glob("*.yaml"))
COMMANDS = {"arc25-finetune": finetuning.Config, "arc25-evaluate": evaluate.Args,
            "arc25-learning-ladder": learning_ladder.Args, "arc25-test-time-her": test_time_her.Config}


def command_of(recipe: Path) -> str:
    return recipe.read_text().splitlines()[0].removeprefix("# ").split(":")[0]


def test_the_journal_runs_and_the_learning_check_have_recipes():
    names = {r.stem for r in RECIPES}
    assert {"speed_benchmark", "multi_task_dora", "two_gpu", "learning_check", "learning_check_eval"} <= names


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.stem)
def test_every_recipe_loads_with_its_values(recipe, tmp_path):
    cls = COMMANDS[command_of(recipe)]
    cfg = parse(cls, ["--config", str(recipe), "--output-dir", str(tmp_path)])
    for key, value in yaml.safe_load(recipe.read_text()).items():
        assert getattr(cfg, key) == value, key


def test_flags_override_a_recipe(tmp_path):
    recipe = ROOT / "configs" / "recipes" / "cpu_demo.yaml"
    cfg = finetuning.Config.from_cli(["--config", str(recipe), "--output-dir", str(tmp_path), "--max-steps", "3"])
    assert cfg.max_steps == 3 and cfg.batch_size == 8 and cfg.log_to_wandb is False
    eval_recipe = ROOT / "configs" / "recipes" / "learning_check_eval.yaml"
    args = parse(evaluate.Args, ["--config", str(eval_recipe), "--output-dir", str(tmp_path), "--n", "5"])
    assert args.n == [5], "a repeatable flag replaces the recipe's list rather than adding to it"


@pytest.mark.parametrize("text, message", [
    ("max_step: 3\n", "unknown key(s) max_step"),
    ("- 1\n- 2\n", "must hold a mapping"),
    ("lora_weight_initialization: magic\n", "is not one of default, gaussian"),
    ("batch_size: 0\n", "--batch-size must be >= 1"),
])
def test_a_bad_recipe_is_one_line(text, message, tmp_path, capsys):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--config", str(recipe), "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
