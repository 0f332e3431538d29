"""Training: the data stream as batches, the trainer, and the speed and measurement pieces around it.

Holds: ``data`` (IterableDataset, packing, collator), ``run`` (run folder, checkpoints, tracking),
``trainer`` (``ArcTrainer``), ``distributed``, ``attention``/``compile`` (speed), ``metrics``/``profiling``/
``step_probe`` (measurement), ``solve_rate``/``time_limit`` (callbacks), ``token_classes`` (loss by token class).
May import infer (the solve-rate callback decodes) and everything below; never her or commands.
"""
