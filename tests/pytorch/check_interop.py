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
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

class Net(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, 3, 1, 1); self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(12, 12, 3, 1, 1); self.conv3 = nn.Conv2d(12, 24, 3, 1, 1)
        self.drop = nn.Dropout2d(p=0.2); self.fc = nn.Linear(32*32*24, num_classes)
    def forward(self, x):
        x = F.relu(self.pool(self.conv1(x))); x = F.relu(self.pool(self.conv2(x)))
        x = F.relu(self.drop(self.conv3(x))); x = F.dropout(x, training=self.training)
        return F.log_softmax(self.fc(x.view(-1, 32*32*24)), dim=1)


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
