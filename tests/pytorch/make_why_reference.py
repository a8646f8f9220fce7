"""Make the PyTorch reference for the attribution maps (`cnn-tutor explore --explain`, src/why.rs;
tests/suite/why.rs reads it).

usage:
    python make_why_reference.py [--data ../shared/data/ms-learn-shapes] [--out tests/fixtures/why]

Two cases, each a model, an image and the three maps for every class, in eval mode:
  - course: tests/fixtures/explore/pytorch_trained.safetensors (the course's net trained in PyTorch by
    make_explore_reference.py) on tests/fixtures/explore/drawn_triangle.png;
  - other:  a second architecture with a 5x5 stride-2 convolution, batch norm, tanh, average pooling and
    a hidden linear layer, trained here for 40 Adam steps on the course's images (so batch norm's running
    statistics are its own), saved as --out/other.safetensors (metadata `arch` and `classes`, as
    cnn-tutor's checkpoints), on a circle drawn here (--out/drawn_circle.png).

The maps (see src/why.rs for the definitions):
  - saliency: max over input channels of |d logit_c / d x|, x the normalised input (autograd);
  - gradcam:  on the named feature map given (relu3 for the course's net, tanh1 for the other):
              alpha_k = mean over positions of d logit_c / d A_k, map = relu(sum_k alpha_k A_k);
  - occlusion: a 16x16 patch of the normalised input set to 0 in every channel, stride 8, every position
              fully inside the image, row by row; p_c(original) - p_c(occluded) (softmax probabilities).

Writes --out/CASE_maps.safetensors with tensors `CLASS.saliency` [128,128], `CLASS.gradcam` [h,w],
`CLASS.occlusion` [15,15] for CLASS = 0, 1, 2, and metadata: `model`, `image`, `layer`, `probs` (JSON).

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
from safetensors.torch import load_file, save_file

from cnn_arch import ArchNet

CLASSES = ["circle", "square", "triangle"]
COURSE = ("conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu "
          "dropout(0.5) flatten linear")
OTHER = ("conv(8,5,stride=2) batchnorm relu maxpool(2) conv(16,3) tanh avgpool(2) flatten dropout(0.3) "
         "linear(16) relu linear")
PATCH, STRIDE = 16, 8


def to_tensor(img):
    """ToTensor + Normalize(0.5, 0.5), as the course and cnn-tutor do."""
    a = np.asarray(img.convert("RGB").resize((128, 128), Image.BILINEAR), dtype=np.float32) / 255.0
    return (torch.from_numpy(a.copy()).permute(2, 0, 1) - 0.5) / 0.5


def train_other(data_dir, steps=40, batch=16, seed=11):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    files = []
    for k, c in enumerate(CLASSES):
        names = sorted(os.listdir(os.path.join(data_dir, c)))
        files += [(os.path.join(data_dir, c, n), k) for n in names]
    rng.shuffle(files)
    net = ArchNet(OTHER, classes=len(CLASSES))
    opt = torch.optim.Adam(net.parameters(), lr=0.001)
    net.train()
    for s in range(steps):
        part = files[s * batch:(s + 1) * batch]
        x = torch.stack([to_tensor(Image.open(p)) for p, _ in part])
        y = torch.tensor([k for _, k in part])
        opt.zero_grad()
        F.nll_loss(net(x), y).backward()
        opt.step()
    return net


def drawn_circle(path):
    img = Image.new("RGB", (128, 128), (236, 240, 230))
    d = ImageDraw.Draw(img)
    d.ellipse((30, 44, 96, 110), fill=(40, 90, 200))
    d.ellipse((52, 66, 70, 84), fill=(236, 240, 230))
    img.save(path)


def maps(net, x, layer):
    """Every class's three maps for one image x [3,128,128]."""
    net.eval()
    out = {}
    with torch.no_grad():
        base = net(x[None]).exp()[0]
    starts = list(range(0, 128 - PATCH + 1, STRIDE))
    occluded = []
    for r in starts:
        for c in starts:
            y = x.clone()
            y[:, r:r + PATCH, c:c + PATCH] = 0
            occluded.append(y)
    with torch.no_grad():
        probs = net(torch.stack(occluded)).exp()
    for k in range(len(CLASSES)):
        xi = x[None].clone().requires_grad_(True)
        trace = {}
        net(xi, trace=trace)
        a = trace[layer]
        a.retain_grad()
        score = trace["logits"][0, k]
        score.backward()
        sal = xi.grad[0].abs().amax(dim=0)
        alpha = a.grad[0].mean(dim=(1, 2))
        cam = F.relu((alpha[:, None, None] * a[0]).sum(dim=0)).detach()
        occ = (base[k] - probs[:, k]).reshape(len(starts), len(starts))
        out[f"{k}.saliency"] = sal.contiguous()
        out[f"{k}.gradcam"] = cam.contiguous()
        out[f"{k}.occlusion"] = occ.contiguous()
    return out, [float(p) for p in base]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/ms-learn-shapes")
    ap.add_argument("--out", default="tests/fixtures/why")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)

    course = ArchNet(COURSE, classes=3)
    course.load_state_dict(load_file("tests/fixtures/explore/pytorch_trained.safetensors"), strict=True)
    x = to_tensor(Image.open("tests/fixtures/explore/drawn_triangle.png"))
    t, probs = maps(course, x, "relu3")
    save_file(t, os.path.join(args.out, "course_maps.safetensors"),
              metadata={"model": "tests/fixtures/explore/pytorch_trained.safetensors",
                        "image": "tests/fixtures/explore/drawn_triangle.png", "layer": "relu3",
                        "probs": json.dumps(probs)})

    other = train_other(args.data)
    model = os.path.join(args.out, "other.safetensors")
    sd = {k: v.contiguous() for k, v in other.state_dict().items()}
    save_file(sd, model, metadata={"arch": other.text, "classes": json.dumps(CLASSES),
                                   "trained_by": f"PyTorch {torch.__version__}"})
    image = os.path.join(args.out, "drawn_circle.png")
    drawn_circle(image)
    x = to_tensor(Image.open(image))
    t, probs = maps(other, x, "tanh1")
    save_file(t, os.path.join(args.out, "other_maps.safetensors"),
              metadata={"model": model, "image": image, "layer": "tanh1", "probs": json.dumps(probs)})
    print("wrote", args.out, "course probs", probs)


if __name__ == "__main__":
    main()
