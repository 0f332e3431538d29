"""Test-time hindsight experience replay: sample programs for one task, relabel what they drew, fine-tune, repeat.

relabel: programs -> new tasks (dead lines pruned, duplicates and seen outputs dropped), worst to best.
tuning: the in-memory fine-tuning pass and the reset to the run's initial weights.
loop: one task's epochs, with any sampler (the model, or a stand-in in tests).
compare: HER against plain sampling (the loop with no tuner) at equal executed programs, and greedy.
report: console table, results.jsonl, PNGs, tracker. The command itself is arc25/commands/test_time_her.py.
"""
