"""torch.optim.SGD with momentum and weight decay: tests/fixtures/sgd/reference.json.

Two tensors (one with a value of 0, one negative) take four steps of fixed gradients
with SGD at each (momentum, weight_decay) of CASES, lr 0.05, float32; the file holds the
starting values, the gradients of each step and the values after each step.
tests/suite/train_settings.rs runs nn::sgd::Sgd on the same and compares.

Run from the repository root:  python3 tests/pytorch/make_sgd_reference.py
"""

import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests/fixtures/sgd/reference.json")
CASES = [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01), (0.9, 0.01), (0.5, 0.1)]
LR = 0.05
START = [[1.0, -2.0, 0.0, 0.5], [0.25, -0.125]]
GRADS = [
    [[0.5, 0.25, -1.0, 0.0], [2.0, -0.5]],
    [[-0.5, 0.75, 1.0, 0.125], [1.0, 0.0]],
    [[0.1, -0.2, 0.3, -0.4], [-1.5, 0.5]],
    [[1.0, 1.0, 1.0, 1.0], [0.0, 0.25]],
]


def main():
    cases = []
    for momentum, wd in CASES:
        params = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in START]
        opt = torch.optim.SGD(params, lr=LR, momentum=momentum, weight_decay=wd)
        after = []
        for step in GRADS:
            for p, g in zip(params, step):
                p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
            after.append([p.detach().tolist() for p in params])
        cases.append({"momentum": momentum, "weight_decay": wd, "after": after})
    doc = {
        "torch": torch.__version__,
        "lr": LR,
        "start": START,
        "grads": GRADS,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT))


if __name__ == "__main__":
    main()
