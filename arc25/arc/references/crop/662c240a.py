"""Of the three stacked squares, crop the one that is not symmetric about its diagonal."""


def task(img):
    return unique_by(split(img, 3, 1), lambda p: bool((p == transpose(p)).all()))
