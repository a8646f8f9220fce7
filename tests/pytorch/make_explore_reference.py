"""Make the PyTorch reference for `cnn-tutor explore` (tests/suite/explore.rs).

usage:
    python make_explore_reference.py [--data ../shared/data/ms-learn-shapes] [--out tests/fixtures/explore]

Writes into --out:
  - pytorch_trained.safetensors: the seed's Net trained briefly *in PyTorch* (seeded; 60
    steps of Adam on batches of the course's images, dropouts on), saved as a state_dict
    with `safetensors.torch.save_file` (the class names in the metadata);
  - drawn_triangle.png: a 128x128 image drawn here with PIL, which neither cnn-tutor nor
    the model has seen (not one of the course's images, not `create_image`'s drawing);
  - reference.json: what PyTorch's forward hooks give for that image in eval mode: cells
    of conv1, conv2 and conv3 (the modules' outputs, with the layer input over each
    cell's 3x3 window), cells of both pools, the fc scores and the probabilities.

Run from the repository root. Needs torch, numpy, pillow, safetensors.
"""
import argparse
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import save_file

from seed_net import Net

CLASSES = ["circle", "square", "triangle"]


def to_tensor(img):
    """ToTensor + Normalize(0.5, 0.5), as the course and cnn-tutor do."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return (torch.from_numpy(a).permute(2, 0, 1) - 0.5) / 0.5


def train(data_dir, steps=100, batch=12, seed=7):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    files = []
    for k, c in enumerate(CLASSES):
        names = sorted(os.listdir(os.path.join(data_dir, c)))
        files += [(os.path.join(data_dir, c, n), k) for n in names]
    rng.shuffle(files)
    files = files[: steps * batch]
    net = Net(len(CLASSES))
    opt = torch.optim.Adam(net.parameters(), lr=0.001)
    net.train()
    for s in range(steps):
        chunk = files[s * batch:(s + 1) * batch]
        x = torch.stack([to_tensor(Image.open(p)) for p, _ in chunk])
        t = torch.tensor([k for _, k in chunk])
        opt.zero_grad()
        loss = F.nll_loss(net(x), t)
        loss.backward()
        opt.step()
    print(f"trained {steps} steps of {batch}; last loss {loss.item():.4f}")
    return net


def draw_image():
    """A teal right triangle (right angle top right) on a white background, drawn here (not the course's own)."""
    img = Image.new("RGB", (128, 128), (255, 255, 255))
    ImageDraw.Draw(img).polygon([(34, 40), (94, 40), (94, 100)], fill=(20, 120, 110))
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/ms-learn-shapes")
    ap.add_argument("--out", default="tests/fixtures/explore")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    net = train(args.data)
    sd = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    model_path = os.path.join(args.out, "pytorch_trained.safetensors")
    save_file(sd, model_path, metadata={"classes": json.dumps(CLASSES), "trained_by": f"PyTorch {torch.__version__}"})

    img_path = os.path.join(args.out, "drawn_triangle.png")
    draw_image().save(img_path, optimize=True)
    # read it back as cnn-tutor will: from the file
    x = to_tensor(Image.open(img_path)).unsqueeze(0)

    net.eval()
    seen = {}
    pools = []

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = (inputs[0].detach()[0], output.detach()[0])
        return hook

    for name in ["conv1", "conv2", "conv3", "fc"]:
        getattr(net, name).register_forward_hook(keep(name))
    net.pool.register_forward_hook(lambda m, i, o: pools.append(o.detach()[0]))
    with torch.no_grad():
        log_probs = net(x)[0]

    rng = random.Random(3)
    layers = {}
    for name in ["conv1", "conv2", "conv3"]:
        inp, out = seen[name]
        c, h, w = out.shape
        flat = int(out[0].argmax())  # channel 0's strongest cell: explore's default --at
        cells = [(0, 0, 0), (c - 1, h - 1, w - 1), (c // 2, h // 2, w // 2), (0, flat // w, flat % w)]
        cells += [(rng.randrange(c), rng.randrange(h), rng.randrange(w)) for _ in range(4)]
        entries = []
        for i, (ch, r, col) in enumerate(cells):
            window = []
            for ci in range(inp.shape[0]):
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        rr, cc = r + dy, col + dx
                        if i < 4 and 0 <= rr < h and 0 <= cc < w:
                            window.append([ci, rr, cc, float(inp[ci, rr, cc])])
            entry = {"channel": ch, "row": r, "col": col, "value": float(out[ch, r, col])}
            if window:
                # the layer input over the cell's window: [channel, row, col, value]
                entry["inputs"] = window
            entries.append(entry)
        layers[name] = {
            "shape": list(out.shape),
            "max_abs": float(out.abs().max()),
            "input_max_abs": float(inp.abs().max()),
            "strongest_channel0": [flat // w, flat % w],
            "cells": entries,
        }
    pool_cells = {}
    for name, p in zip(["pool1", "pool2"], pools):
        c, h, w = p.shape
        cells = [(0, 0, 0), (c - 1, h - 1, w - 1)] + [(rng.randrange(c), rng.randrange(h), rng.randrange(w)) for _ in range(4)]
        pool_cells[name] = {
            "shape": list(p.shape),
            "max_abs": float(p.abs().max()),
            "cells": [{"channel": ch, "row": r, "col": col, "value": float(p[ch, r, col])} for ch, r, col in cells],
        }
    logits = seen["fc"][1]
    ref = {
        "torch": torch.__version__,
        "model": "pytorch_trained.safetensors",
        "image": "drawn_triangle.png",
        "classes": CLASSES,
        "layers": layers,
        "pools": pool_cells,
        "fc": {
            "values": [float(v) for v in logits],
            "probabilities": [float(v) for v in log_probs.exp()],
            "predicted": CLASSES[int(log_probs.argmax())],
        },
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print(f"predicted {ref['fc']['predicted']}, probabilities {ref['fc']['probabilities']}")
    for f_ in sorted(os.listdir(args.out)):
        print(f_, os.path.getsize(os.path.join(args.out, f_)), "bytes")


if __name__ == "__main__":
    main()
