"""arc25: fine-tune language models to solve ARC tasks by writing programs."""

__version__ = "0.1.0"
