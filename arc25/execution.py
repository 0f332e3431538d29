"""Kept for old imports: everything lives in ``arc25.sandbox`` (and the trusted path in ``arc25.trusted``)."""
from arc25.sandbox import *  # noqa: F401,F403
from arc25.sandbox import __all__  # noqa: F401
