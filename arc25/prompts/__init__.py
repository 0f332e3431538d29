"""Tasks as text: grid encodings, prompts and completions, the chat template, and code pulled back out of replies.

Holds: ``encoders`` (grid <-> text, by spec string) and ``prompting`` (messages, prompt styles, ``ChatFormatter``,
``parse_code``). Imports ``arc25.dsl`` and ``arc25.tasks`` only: training and inference both build on it.
"""
