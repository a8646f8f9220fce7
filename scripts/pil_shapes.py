#!/usr/bin/env python3
"""Draw the seed's shapes with PIL for every box the recipe can pick, for comparison.

Writes OUT/{circle,square,triangle}_{xy1}_{xy2}.png for xy1 in 10..=40 and xy2 in 60..=100,
each drawn exactly as the seed's create_image does (black fill, so the shape is easy to
find). `cargo test --test suite -- --ignored pil_drawing` then compares cnn-tutor's drawing
with these files pixel by pixel when CNN_TUTOR_PIL_SHAPES=OUT is set.

Usage: pil_shapes.py OUT      (needs Pillow: the venv made by scripts/compare.sh has it)
"""

import os
import sys

from PIL import Image, ImageDraw


def draw(shape, xy1, xy2):
    img = Image.new("RGB", (128, 128), (255, 255, 255))
    d = ImageDraw.Draw(img)
    col = (0, 0, 0)
    if shape == "circle":
        d.ellipse([(xy1, xy1), (xy2, xy2)], fill=col)
    elif shape == "triangle":
        d.polygon([(xy1, xy1), (xy2, xy2), (xy2, xy1)], fill=col)
    else:
        d.rectangle([(xy1, xy1), (xy2, xy2)], fill=col)
    return img


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for shape in ("circle", "square", "triangle"):
        for xy1 in range(10, 41):
            for xy2 in range(60, 101):
                draw(shape, xy1, xy2).save(os.path.join(out, f"{shape}_{xy1}_{xy2}.png"))


if __name__ == "__main__":
    main()
