"""Across the grey line: red cells grow towards the line, blue cells away from it to the edge."""


def task(img):
    out = img.copy()
    line = cells_of(img, 5)[0][0]
    for color in (1, 2):
        for r, c in cells_of(img, color):
            towards = "down" if r < line else "up"
            away = "up" if r < line else "down"
            draw_ray(out, (r, c), towards if color == 2 else away, color, stop=5)
    return out
