"""Check a checkpoint both ways between cnn-tutor and PyTorch.

usage:
    cnn-tutor evaluate --model MODEL --data DIR --json > ours.json
    python check_interop.py MODEL ours.json

Loads MODEL (ours, or a PyTorch-saved state_dict) into the seed's Net with
`load_state_dict(safetensors.torch.load_file(MODEL))`, runs every image listed in ours.json
through it, and reports how many predictions agree with cnn-tutor's and the largest
probability difference. Exit 1 unless all agree. Needs torch, numpy, pillow, safetensors.
"""
import json
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from seed_net import Net


def main():
    model_path, ours_path = sys.argv[1], sys.argv[2]
    ours = json.load(open(ours_path))
    classes = ours["classes"]
    net = Net(len(classes))
    net.load_state_dict(load_file(model_path))
    net.eval()
    agree = correct = 0
    worst = 0.0
    with torch.no_grad():
        for p in ours["predictions"]:
            a = np.asarray(Image.open(p["file"]).convert("RGB"), dtype=np.float32) / 255.0
            x = ((torch.from_numpy(a).permute(2, 0, 1) - 0.5) / 0.5).unsqueeze(0)
            prob = net(x).exp()[0]
            pred = classes[int(prob.argmax())]
            agree += pred == p["predicted"]
            correct += pred == p["label"]
            worst = max(worst, float((prob - torch.tensor(p["probabilities"])).abs().max()))
    n = len(ours["predictions"])
    print(f"PyTorch agrees with cnn-tutor on {agree}/{n} images "
          f"(PyTorch accuracy {correct / n:.4f}, max probability difference {worst:.2e})")
    sys.exit(0 if agree == n else 1)


if __name__ == "__main__":
    main()
