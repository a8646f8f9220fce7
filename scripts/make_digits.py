#!/usr/bin/env python3
"""Make a ten-class greyscale digit folder (an MNIST-like task) for cnn-tutor.

DIR/<class>/<n>.png, classes "0".."9", each a mode "L" 128x128 image of one digit drawn
with a random DejaVu font, size, position and rotation, on a random grey background with a
contrasting random grey foreground, plus a little Gaussian noise. Deterministic per seed.

Usage: make_digits.py DIR [--per-class 120] [--seed 1] [--jpeg]
                          [--noise 12] [--min-size 50] [--max-size 100] [--min-contrast 90]
                          [--polarity light|dark|random] [--shift 2]
"""
import argparse
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerifCondensed.ttf",
]
SIZE = 128


def draw_digit(rng, nrng, digit, args, fonts):
    font_size = rng.randint(args.min_size, args.max_size)
    font = ImageFont.truetype(fonts[rng.randrange(len(fonts))], font_size)
    # a random grey background and a foreground at least min_contrast grey levels away;
    # polarity "light": a lighter digit on a darker ground (as MNIST), "dark": the reverse
    while True:
        bg = rng.randint(0, 255)
        fg = rng.randint(0, 255)
        if args.polarity == "light" and fg < bg or args.polarity == "dark" and fg > bg:
            bg, fg = fg, bg
        if abs(fg - bg) >= args.min_contrast:
            break
    # draw the glyph on its own transparent layer, rotate it, then paste it at a random place
    text = str(digit)
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left, bottom - top
    pad = 4
    glyph = Image.new("L", (w + 2 * pad, h + 2 * pad), 0)
    ImageDraw.Draw(glyph).text((pad - left, pad - top), text, fill=255, font=font)
    glyph = glyph.rotate(rng.uniform(-15.0, 15.0), resample=Image.BICUBIC, expand=True)
    gw, gh = glyph.size
    # scale down if the rotated glyph would not fit (only for the largest sizes)
    if gw > SIZE or gh > SIZE:
        s = min(SIZE / gw, SIZE / gh)
        glyph = glyph.resize((max(1, int(gw * s)), max(1, int(gh * s))), Image.BICUBIC)
        gw, gh = glyph.size
    # a random position: the glyph's centre at most --shift px from the image's centre
    # (and always wholly inside the image); --shift -1: anywhere
    if args.shift < 0:
        x = rng.randint(0, SIZE - gw)
        y = rng.randint(0, SIZE - gh)
    else:
        cx, cy = (SIZE - gw) // 2, (SIZE - gh) // 2
        x = min(max(cx + rng.randint(-args.shift, args.shift), 0), SIZE - gw)
        y = min(max(cy + rng.randint(-args.shift, args.shift), 0), SIZE - gh)
    img = Image.new("L", (SIZE, SIZE), bg)
    img.paste(Image.new("L", glyph.size, fg), (x, y), glyph)
    if args.noise > 0:
        a = np.asarray(img, dtype=np.float32)
        a = a + nrng.normal(0.0, args.noise, a.shape)
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L")
    return img


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("--per-class", type=int, default=120)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jpeg", action="store_true", help="write greyscale JPEGs instead of PNGs")
    p.add_argument("--noise", type=float, default=12.0, help="Gaussian noise sigma, grey levels")
    p.add_argument("--min-size", type=int, default=50, help="smallest font size, px")
    p.add_argument("--max-size", type=int, default=100, help="largest font size, px")
    p.add_argument("--min-contrast", type=int, default=90,
                   help="least |foreground - background|, grey levels")
    p.add_argument("--polarity", choices=["light", "dark", "random"], default="light",
                   help="light: lighter digit on a darker ground (MNIST-like); dark: the reverse")
    p.add_argument("--shift", type=int, default=2,
                   help="most px the digit's centre is moved from the image's centre (-1: anywhere)")
    args = p.parse_args()

    fonts = [os.path.join(FONT_DIR, f) for f in FONTS if os.path.exists(os.path.join(FONT_DIR, f))]
    if not fonts:
        raise SystemExit(f"no DejaVu fonts in {FONT_DIR}")
    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)
    ext = "jpg" if args.jpeg else "png"
    for d in range(10):
        os.makedirs(os.path.join(args.dir, str(d)), exist_ok=True)
    # interleave the classes so that each class's images do not depend on --per-class order
    for n in range(args.per_class):
        for d in range(10):
            img = draw_digit(rng, nrng, d, args, fonts)
            path = os.path.join(args.dir, str(d), f"{n}.{ext}")
            if args.jpeg:
                img.save(path, "JPEG", quality=90)
            else:
                img.save(path, "PNG")
    print(f"wrote {10 * args.per_class} {ext} images to {args.dir}")


if __name__ == "__main__":
    main()
