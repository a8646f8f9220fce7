"""PyTorch's autograd for the backprop lesson: tests/fixtures/backprop/reference.json.

For lessons/08-backprop.toml and the edited copies in tests/fixtures/backprop/*.toml,
build the lesson's network from the file's inputs (conv 1 filter, stride 1, no padding,
plus bias -> ReLU -> max pool -> flatten -> linear -> log-softmax -> NLL of the target),
run one forward and backward pass in float32, and write the gradients, the parameters
after one torch.optim.SGD step (lr = learning_rate), the loss before and after it, and
the filter after one torch.optim.Adam step (same lr, PyTorch's defaults otherwise).
tests/suite/lesson_backprop.rs compares the lesson's numbers with these.

Run from the repository root:  /work/pt/bin/python tests/pytorch/make_backprop_reference.py
"""

import glob
import json
import os
import tomllib

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = ["lessons/08-backprop.toml"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "tests/fixtures/backprop/*.toml"))
)
OUT = os.path.join(ROOT, "tests/fixtures/backprop/reference.json")


def params(f):
    classes = f.get("classes", ["circle", "square", "triangle"])
    kernel = torch.tensor(f["kernel"], dtype=torch.float32)
    return {
        "w": kernel.view(1, 1, *kernel.shape).clone().requires_grad_(),
        "b": torch.tensor([f.get("bias", 0.0)], dtype=torch.float32, requires_grad=True),
        "fw": torch.tensor(f["fc_weights"], dtype=torch.float32, requires_grad=True),
        "fb": torch.tensor(f.get("fc_bias", [0.0] * len(classes)), dtype=torch.float32, requires_grad=True),
    }


def loss_of(f, p):
    classes = f.get("classes", ["circle", "square", "triangle"])
    target = torch.tensor([classes.index(f["target"])])
    img = torch.tensor(f["image"], dtype=torch.float32)
    x = (img * torch.tensor(f.get("scale", 1.0), dtype=torch.float32)).view(1, 1, *img.shape)
    pool = f.get("pool", 2)
    z = F.conv2d(x, p["w"], p["b"])
    a = F.relu(z)
    pooled = F.max_pool2d(a, pool, pool)
    scores = F.linear(pooled.flatten(1), p["fw"], p["fb"])
    return F.nll_loss(F.log_softmax(scores, dim=1), target)


def case(path):
    with open(os.path.join(ROOT, path), "rb") as fh:
        f = tomllib.load(fh)
    lr = f.get("learning_rate", 0.1)
    p = params(f)
    loss = loss_of(f, p)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in p.items()}
    sgd = torch.optim.SGD(list(p.values()), lr=lr)
    sgd.step()
    with torch.no_grad():
        new_loss = loss_of(f, p)
    updated = p["w"].detach()[0, 0].tolist()

    q = params(f)
    adam = torch.optim.Adam(list(q.values()), lr=lr)
    for k, v in q.items():
        v.grad = grads[k].clone()
    adam.step()

    return {
        "file": path,
        "loss": loss.item(),
        "filter_grad": grads["w"][0, 0].tolist(),
        "bias_grad": grads["b"][0].item(),
        "fc_weight_grad": grads["fw"].tolist(),
        "fc_bias_grad": grads["fb"].tolist(),
        "updated_filter": updated,
        "new_loss": new_loss.item(),
        "adam_filter": q["w"].detach()[0, 0].tolist(),
    }


def main():
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "cases": [case(p) for p in FILES]}
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    for c in out["cases"]:
        print(f"{c['file']}: loss {c['loss']:.6f} -> {c['new_loss']:.6f}")


if __name__ == "__main__":
    main()
