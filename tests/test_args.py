"""arc25.cli.args: the commands compose shared argument groups; flags keep their names; each is declared and checked once."""

import dataclasses
import subprocess
import sys

import pytest
from conftest import ROOT

import finetuning
from arc25.cli import args
from arc25.commands import benchmark_data, evaluate, learning_ladder, merge_lora, test_time_her

COMMANDS = {"finetuning": finetuning.Config, "test_time_her": test_time_her.Config, "evaluate": evaluate.Args,
            "merge_lora": merge_lora.Args, "benchmark_data": benchmark_data.Args,
            "learning_ladder": learning_ladder.Args}

# Every command's flags before the groups existed (commit 57e2ef8): users' commands and recipes spell these.
FLAGS_BEFORE = {
    "finetuning": "adapter_path attn_implementation batch_size completion_only_loss dataloader_num_workers device_map "
                  "draw_functions dump_samples eval_steps gradient_checkpointing grid_encoder group_by_length_window "
                  "learning_rate log_to_wandb logging_steps lora_alpha lora_dropout lora_r lora_target_modules "
                  "lora_weight_initialization lr_scheduler_type max_draws max_grad_norm max_minutes max_seq_len "
                  "max_side max_steps min_draws min_side mixture model_path n_eval_tasks n_gpus n_inputs "
                  "n_solve_rate_tasks optim output_dir packing pad_to_multiple_of peak_tflops "
                  "per_device_eval_batch_size per_device_train_batch_size profile_steps prompt_style random_seed "
                  "resume_from_checkpoint save_steps solve_rate_steps throughput_skip_steps torch_compile torch_dtype "
                  "use_dora use_liger_kernel use_lora use_rslora wandb_project warmup_ratio weight_decay",
    "test_time_her": "adapter_path benchmark_methods benchmark_sampling device grid_encoder high_temperature "
                     "learning_rate log_to_wandb lora_alpha lora_r lora_target_modules low_temperature max_epochs "
                     "max_grad_norm max_new_tokens max_seq_len model_path n n_high_temperature n_low_temperature "
                     "n_workers output_dir per_device_train_batch_size progress prompt_style random_seed "
                     "sampling_batch_size task_set time_budget_s timeout_s top_p torch_dtype use_lora wandb_project "
                     "warmup_steps weight_decay",
    "evaluate": "adapter_path batch_size device greedy grid_encoder max_draws max_new_tokens max_seq_len max_side "
                "min_draws min_side model_path model_seed n n_inputs n_plots n_samples n_workers output_dir progress "
                "prompt_style random_seed task_set temperature timeout_s torch_dtype",
    "merge_lora": "adapter_path model_path model_seed output_dir torch_dtype",
    "benchmark_data": "grid_encoder max_draws max_side min_draws min_side mixtures n n_inputs prompt_style random_seed",
    "learning_ladder": "batch_size curriculum curve_steps extra grid_encoder learning_rate lr_scheduler_type max_minutes "
                       "max_seq_len max_steps model_path n_curve_tasks n_eval_tasks n_samples output_dir "
                       "per_device_train_batch_size prompt_style random_seed rungs score_start temperature "
                       "warmup_ratio",
}

GROUPS = [getattr(args, name) for name in args.__all__ if isinstance(getattr(args, name), type)
          and name != "EvalSettings"]
# A command may redeclare a group's field only to change its default (the help stays the group's), or where it
# means something else there; each such case is listed with its reason.
REDECLARED = {
    ("test_time_her", "output_dir"), ("test_time_her", "learning_rate"),
    ("evaluate", "output_dir"), ("merge_lora", "model_path"), ("merge_lora", "adapter_path"),
    ("merge_lora", "output_dir"),  # required there
    ("merge_lora", "torch_dtype"),  # the saved weights' dtype, without "auto"
    ("learning_ladder", "output_dir"), ("learning_ladder", "max_minutes"), ("learning_ladder", "lr_scheduler_type"),
    ("learning_ladder", "per_device_train_batch_size"), ("learning_ladder", "max_seq_len"),
    ("learning_ladder", "n_samples"), ("learning_ladder", "temperature"),
    ("learning_ladder", "n_eval_tasks"),  # the tasks scored after training (finetuning's is the validation-loss set)
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_flag_keeps_its_name(name):
    now = {f.name for f in dataclasses.fields(COMMANDS[name])}
    missing = set(FLAGS_BEFORE[name].split()) - now
    assert not missing, f"{name} lost flags {sorted(missing)}"


def test_a_command_declares_only_its_own_flags():
    """A flag a group declares is not declared again by a command (besides the listed re-defaults)."""
    in_groups = {f.name for group in GROUPS for f in dataclasses.fields(group)}
    found = {(name, field) for name, cls in COMMANDS.items() for field in vars(cls).get("__annotations__", {})
             if field in in_groups}
    assert found == REDECLARED, (found - REDECLARED, REDECLARED - found)


def test_commands_share_groups_not_copies():
    """HER takes every LoRA flag training has (it used to drop dropout, rsLoRA, DoRA and the init)."""
    assert issubclass(test_time_her.Config, args.LoraArgs) and issubclass(finetuning.Config, args.LoraArgs)
    cfg = test_time_her.Config(lora_r=4, lora_dropout=0.1, use_rslora=True, use_dora=True,
                               lora_weight_initialization="gaussian")
    built = cfg.lora_config()
    assert (built.r, built.lora_dropout, built.use_rslora, built.use_dora, built.init_lora_weights) == \
        (4, 0.1, True, True, "gaussian")
    for cls in (evaluate.Args, benchmark_data.Args):
        assert issubclass(cls, args.TaskArgs)


@pytest.mark.parametrize("flags, message", [
    (dict(per_device_eval_batch_size=0), "--per-device-eval-batch-size must be >= 1, got 0"),
    (dict(lora_alpha=0), "--lora-alpha must be >= 1, got 0"),
    (dict(lora_dropout=1.0), "--lora-dropout must be in [0, 1)"),
    (dict(max_grad_norm=-1.0), "--max-grad-norm must be >= 0"),
    (dict(group_by_length_window=-1), "--group-by-length-window must be >= 0"),
    (dict(schedule_over="minutes"), "--schedule-over minutes lays the schedule over --max-minutes: set --max-minutes"),
    (dict(schedule_over="minutes", max_minutes=5, lr_scheduler_type="polynomial"),
     "--lr-scheduler-type 'polynomial' cannot be laid over minutes; with --schedule-over minutes: linear, cosine"),
])
def test_each_group_checks_its_flags(flags, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        finetuning.Config(**flags)


def test_the_same_check_runs_in_every_command_that_composes_the_group():
    for cls in (finetuning.Config, test_time_her.Config):
        with pytest.raises(ValueError, match="--lora-alpha must be >= 1"):
            cls(lora_alpha=-2)
    for cls in (evaluate.Args, benchmark_data.Args):
        extra = dict(output_dir="o") if cls is evaluate.Args else {}
        with pytest.raises(ValueError, match="max_side"):
            cls(max_side=40, **extra)


@pytest.mark.parametrize("cuda, window", [(True, args.CUDA_GROUP_WINDOW), (False, 0)])
def test_hardware_defaults_are_resolved_one_way(cuda, window, monkeypatch):
    """Liger and length grouping both follow cuda_visible() at construction; flags and recipes still override."""
    import importlib.util

    monkeypatch.setattr(args, "cuda_visible", lambda: cuda)
    cfg = finetuning.Config()
    assert cfg.group_by_length_window == window
    assert cfg.use_liger_kernel == (cuda and importlib.util.find_spec("liger_kernel") is not None)
    assert finetuning.Config(group_by_length_window=7).group_by_length_window == 7


def test_help_imports_no_torch_on_a_machine_without_a_gpu_driver():
    code = ("import sys, finetuning\n"
            "try:\n    finetuning.Config.from_cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    if args.cuda_visible():
        pytest.skip("a GPU driver is present: the hardware defaults need torch")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_common_schedulers_need_no_transformers_import_and_are_all_transformers_names():
    from transformers.trainer_utils import SchedulerType

    assert set(args.COMMON_SCHEDULERS) <= {s.value for s in SchedulerType}
    # A recipe's scheduler is checked without importing transformers (seconds a bad flag elsewhere should not
    # wait for); a rarer name is still checked against transformers' own list.
    code = ("import sys; from arc25.cli.args import ScheduleArgs; ScheduleArgs(lr_scheduler_type='linear').validate(); "
            "assert 'transformers' not in sys.modules, 'transformers imported'; "
            "ScheduleArgs(lr_scheduler_type='reduce_lr_on_plateau').validate()")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with pytest.raises(ValueError, match="--lr-scheduler-type 'zigzag' is unknown; valid: linear, cosine"):
        args.ScheduleArgs(lr_scheduler_type="zigzag").validate()


def test_a_time_schedule_has_transformers_shapes_over_the_spent_fraction():
    from arc25.train.time_limit import time_factor

    assert time_factor("constant", 0.1, 0.0) == 1.0
    assert time_factor("linear", 0.1, 0.05) == pytest.approx(0.5)  # half-way up the warm-up
    assert time_factor("linear", 0.1, 0.55) == pytest.approx(0.5) and time_factor("linear", 0.1, 1.0) == 0.0
    assert time_factor("cosine", 0.0, 0.5) == pytest.approx(0.5) and time_factor("cosine", 0.0, 1.0) == pytest.approx(0)
    assert time_factor("constant_with_warmup", 0.2, 0.1) == pytest.approx(0.5)
    assert time_factor("constant_with_warmup", 0.2, 0.9) == 1.0
    # Every name validation lets through has a shape.
    for kind in args.TIME_SCHEDULERS:
        assert 0.0 <= time_factor(kind, 0.05, 0.7) <= 1.0
