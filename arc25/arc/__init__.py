"""Real ARC tasks: reference solutions now, a family search later.

Holds: ``references`` (hand-written DSL programs for ARC-AGI-1 training tasks, one file each under
``references/<concept>/<task_id>.py``, with their lint and their verification through the sandbox). The files under
``references/`` are program sources, read as text and run in the sandbox, never imported. May import tasks,
programs, dsl and sandbox.
"""
