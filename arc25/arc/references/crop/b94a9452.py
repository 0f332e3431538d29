"""Crop the square and swap its two colours."""


def task(img):
    square = crop_to_content(img)
    a, b = colors(square)
    return swap_colors(square, a, b)
