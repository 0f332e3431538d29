"""Hindsight task generators: random DSL programs run on random grids."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Task:
    """One ARC-style task: the program's outputs on the inputs are, by construction, the answer."""

    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    code: str
    generator: str
    n_draws: int = 0
    meta: dict = field(default_factory=dict)
