"""The DSL that programs (generated ones and the model's) are written in.

Holds ``draw`` (v1: today's drawing functions, unchanged since the first trained models) and the v2 modules that
let a program see: ``colors`` (colour queries and maps), ``paint`` (more drawing, in place), ``geometry`` (whole-
grid layout), ``objects`` (connected objects as immutable values) and ``selection`` (choosing among things,
periods). ``__all__`` is exactly the set of names a program sees (v1 names first, then v2): the sandbox's policy
and the trusted runner expose these and nothing else. ``V1_NAMES`` are the drawing names alone: the task
generators, the describe-dsl prompt and the token classes use only those, so they stay as models were trained.
Imports nothing from arc25 outside this package.
"""

from arc25.dsl import colors as _colors
from arc25.dsl import draw
from arc25.dsl import geometry as _geometry
from arc25.dsl import objects as _objects
from arc25.dsl import paint as _paint
from arc25.dsl import selection as _selection
from arc25.dsl.colors import (cells_of, color_count, colors, least_common_color, map_colors, most_common_color,
                              replace_color, swap_colors)
from arc25.dsl.draw import (MAX_SIDE, create_img, draw_horizontal_line, draw_line, draw_pixel, draw_rectangle,
                            draw_vertical_line, flood_fill)
from arc25.dsl.geometry import (concat, crop, crop_to_content, downscale, flip, pad, rotate, split, split_by_lines,
                                tile, transpose, upscale)
from arc25.dsl.objects import (Object, find_objects, holes, move, move_until_contact, object_from_mask, outline,
                               recolor, same_shape, touches)
from arc25.dsl.paint import draw_border, draw_object, draw_ray, erase_object, fill, paste
from arc25.dsl.selection import complete_pattern, find_period, find_sprite, group_by, unique_by

V1_NAMES = tuple(draw.__all__)

# Each module's own __all__ is the one list of its names; a test checks that every one is imported above.
__all__ = [*draw.__all__, *_colors.__all__, *_paint.__all__, *_geometry.__all__, *_objects.__all__,
           *_selection.__all__]
