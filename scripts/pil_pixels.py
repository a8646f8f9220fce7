#!/usr/bin/env python3
"""Decode an image folder as torchvision's ImageFolder does (PIL, convert("RGB")) and
write every image's u8 pixels, CHW, one after the other, to OUT, in ImageFolder's order.

The ignored test `pil_decoding_matches` (tests/suite/data_loader.rs) compares cnn-tutor's loader
with this file: `CNN_TUTOR_PIL_DIR=DIR CNN_TUTOR_PIL_PIXELS=OUT cargo test --test
suite -- --ignored pil_decoding`. It tells whether the two JPEG decoders agree.

Usage: pil_pixels.py DIR OUT     (needs torchvision: the venv made by scripts/compare.sh)
"""

import sys

import numpy as np
import torchvision


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder = torchvision.datasets.ImageFolder(root=sys.argv[1])
    with open(sys.argv[2], "wb") as out:
        for path, _ in folder.samples:
            rgb = np.asarray(folder.loader(path), dtype=np.uint8)  # H, W, 3
            out.write(np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes())
    print(f"{len(folder.samples)} images, classes {folder.classes}")


if __name__ == "__main__":
    main()
