"""The DSL that programs (generated ones and the model's) are written in.

Holds: ``draw`` (today's drawing functions, unchanged since the first trained models). ``__all__`` is exactly
the set of names a program sees: the sandbox's policy and the trusted runner expose these and nothing else.
Imports nothing from arc25.
"""

from arc25.dsl.draw import (MAX_SIDE, create_img, draw_horizontal_line, draw_line, draw_pixel, draw_rectangle,
                            draw_vertical_line, flood_fill)

__all__ = [
    "create_img",
    "draw_pixel",
    "draw_line",
    "draw_rectangle",
    "draw_horizontal_line",
    "draw_vertical_line",
    "flood_fill",
]
