"""What a program run is, apart from where it runs: its errors, what counts as a grid, and the trusted runner.

Holds: ``errors`` (how a run can end, one-line messages), ``grids`` (output and input checks), ``trusted`` (our
own generated programs run in this process, no isolation: the task generator's gate). The data path and the
sandbox both build on these, so the data path never loads the sandbox. Imports only ``arc25.dsl``.
"""
