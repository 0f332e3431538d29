"""Continue the repeating rows down to nine rows and paint them red."""


def task(img):
    period = find_period(img)[0]
    out = tile(img[:period], 9 // period + 1, 1)[:9]
    return replace_color(out, 1, 2)
