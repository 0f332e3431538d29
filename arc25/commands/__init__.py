"""The code of every console command (``arc25-*``), one module each, plus what only commands share.

Commands may import any arc25 package; nothing in arc25 imports a command. ``scripts/`` at the repository root
holds thin entry points that call these.
"""
