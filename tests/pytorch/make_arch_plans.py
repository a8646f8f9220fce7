"""PyTorch's plans for architecture texts: tests/fixtures/arch/plans.json.

For each text in VALID (at its input size and class count): the normalised text, every layer's
output shape (PyTorch's own: cnn_arch runs each layer as it builds the network), the name of its
output, every state_dict key with its shape and whether it is trained, and the trainable
parameter count. For each text in INVALID: the 1-based number of the layer at fault, whether the
text itself (`text`) or the sizes (`shape`) reject it, the reason, and for the sizes PyTorch's
own error. The Rust planner is checked against this file.

Run from the repository root:  python3 tests/pytorch/make_arch_plans.py   (needs torch)
"""
import json
import os

import torch

import cnn_arch
from make_arch_reference import ARCHS, COURSE, ROOT

OUT = os.path.join(ROOT, "tests/fixtures/arch/plans.json")
BIG, SMALL = (3, 128, 128), (3, 32, 32)

# (text as a learner might write it, input (C, H, W), classes)
VALID = [
    (COURSE, BIG, 3),
    ("conv(16,3,stride=2,pad=0) relu maxpool(3,stride=2) flatten linear(10) sigmoid linear", BIG, 3),
    ("conv(8,5,stride=3) -> batchnorm -> leakyrelu(0.1) -> avgpool(5,stride=3) -> flatten -> linear", BIG, 4),
    ("conv(4,7,stride=2,pad=3) tanh avgpool(3) conv(8,1) sigmoid maxpool(5,stride=4) flatten dropout(0.1) linear",
     BIG, 3),
    ("conv( 6 , 3 , pad = 0 )   relu->maxpool(2)  flatten linear(32) leakyrelu(0.010) linear(16) tanh linear",
     BIG, 10),
    ("conv(32,3,stride=2) relu conv(64,3,stride=2) relu avgpool(7,stride=5) flatten dropout(0) linear", BIG, 3),
    ("conv(8,4) relu conv(8,2,stride=2) batchnorm relu flatten linear", SMALL, 3),
    ("conv(3,3,pad=5) maxpool(4,stride=3) leakyrelu(0.25) flatten linear", SMALL, 3),
    ("conv(8,3,stride=4) avgpool(7) flatten linear", SMALL, 10),
    ("conv(8,3,pad=0,stride=2) batchnorm batchnorm relu maxpool(2,stride=1) flatten linear(5) linear", SMALL, 3),
    ("avgpool(4) conv(6,8,pad=0) flatten linear", SMALL, 3),
    ("flatten linear", SMALL, 3),
] + [(text, in_shape, classes) for _, text, in_shape, _, classes, _ in ARCHS]

INVALID = [
    ("", SMALL), ("conv(8,3) ->-> flatten linear", SMALL), ("conv(8,3) flatten linear ->", SMALL),
    ("conv(8,3 flatten linear", SMALL), ("conv(8,3)relu flatten linear", SMALL),
    ("conv(8,3) softmax flatten linear", SMALL), ("Conv(8,3) flatten linear", SMALL),
    ("conv(8) flatten linear", SMALL), ("maxpool flatten linear", SMALL), ("dropout flatten linear", SMALL),
    ("conv(0,3) flatten linear", SMALL), ("conv(8,-3) flatten linear", SMALL),
    ("conv(8,3,stride=0) flatten linear", SMALL), ("conv(8,3,pad=1,pad=1) flatten linear", SMALL),
    ("conv(8,3,2) flatten linear", SMALL), ("conv(8,3,dilation=2) flatten linear", SMALL),
    ("relu() flatten linear", SMALL), ("leakyrelu() flatten linear", SMALL), ("conv() flatten linear", SMALL), ("leakyrelu(1e-2) flatten linear", SMALL),
    ("conv(8,3) dropout(1) flatten linear", SMALL), ("dropout2d(1.5) flatten linear", SMALL),
    ("conv(8,3) relu linear", SMALL), ("flatten conv(8,3) linear", SMALL),
    ("conv(8,3) flatten batchnorm linear", SMALL), ("conv(8,3) flatten flatten linear", SMALL),
    ("flatten linear(10)", SMALL), ("flatten linear relu", SMALL),
    ("conv(8,3) maxpool(2) maxpool(2) maxpool(16) flatten linear", SMALL),
    ("conv(8,9,pad=0) maxpool(4) conv(8,9,pad=0) flatten linear", SMALL),
    ("avgpool(3,stride=2) avgpool(20) flatten linear", SMALL),
    ("conv(8,5,stride=4,pad=0) maxpool(8) conv(8,5,pad=0) flatten linear", BIG),
]


def plan(text, in_shape, classes):
    model = cnn_arch.build(text, in_shape, classes)
    assert cnn_arch.normalise(model.text) == model.text
    trained = dict(model.named_parameters())
    return {
        "text": text,
        "normalised": model.text,
        "input": list(in_shape),
        "classes": classes,
        "layers": [{"layer": layer["text"], "output": shape, "act": layer["act"]}
                   for layer, shape in zip(model.layers, model.shapes)],
        "state_dict": [{"key": k, "shape": list(v.shape), "trainable": k in trained}
                       for k, v in model.state_dict().items()],
        "params": cnn_arch.param_count(model),
    }


def rejection(text, in_shape, classes=3):
    try:
        cnn_arch.build(text, in_shape, classes)
    except ValueError as e:
        torch_error = e.__cause__  # set when PyTorch itself refused a layer
        return {"text": text, "input": list(in_shape), "layer": e.layer,
                "stage": "shape" if torch_error else "text", "reason": str(e),
                "pytorch": str(torch_error).splitlines()[0] if torch_error else None}
    raise AssertionError(f"{text!r} was accepted")


def main():
    torch.set_num_threads(2)
    plans = {"valid": [plan(*case) for case in VALID], "invalid": [rejection(*case) for case in INVALID]}
    with open(OUT, "w") as f:
        json.dump(plans, f, indent=1)
        f.write("\n")
    print(f"{os.path.relpath(OUT, ROOT)}: {len(plans['valid'])} plans, {len(plans['invalid'])} rejections")


if __name__ == "__main__":
    main()
