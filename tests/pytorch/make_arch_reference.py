"""PyTorch's numbers for networks written in the one-line architecture text (cnn_arch.py).

Writes tests/fixtures/arch/NAME-eval.safetensors and NAME-train.safetensors for each
architecture in ARCHS: a small batch of the course's shape images (resized), the initial
state_dict, every named activation, the loss, the gradients and the state after one and
three Adam steps. tests/fixtures/arch/README.md describes the layout.

Run from the repository root:  python3 tests/pytorch/make_arch_reference.py [DATA_DIR]
(DATA_DIR defaults to ../shared/data/ms-learn-shapes). Needs torch, pillow, numpy and safetensors.
Deterministic: running it again writes byte-identical files. Nothing in the build runs it.
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save

import cnn_arch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests/fixtures/arch")
COURSE = ("conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu "
          "dropout(0.5) flatten linear")

# name, architecture, input (C, H, W), batch, classes, seed. Together they use every layer kind
# and option: see tests/fixtures/arch/README.md. No batchnorm follows a conv directly (or through
# pools only): in train mode it would cancel the conv's bias, whose gradient would then be rounding
# noise (~1e-8) that Adam's first steps blow up to about lr, so no two programs would agree.
ARCHS = [
    ("course", COURSE, (3, 24, 24), 3, 3, 42),
    ("strided", "conv(8,5,stride=2) relu batchnorm maxpool(3,stride=2) conv(16,1) leakyrelu flatten linear",
     (3, 32, 32), 4, 3, 1),
    ("wide", "conv(6,7,pad=0) sigmoid avgpool(2) conv(10,3,stride=2,pad=2) leakyrelu(0.2) flatten linear",
     (3, 24, 24), 4, 5, 2),
    ("twobn", "conv(8,3) relu batchnorm conv(8,3,pad=0) tanh batchnorm avgpool(3,stride=2) flatten linear",
     (3, 20, 20), 3, 4, 3),
    ("hidden", "conv(8,3,stride=2) relu dropout2d(0.25) maxpool(2) flatten dropout(0.5) linear(24) relu "
               "linear(12) sigmoid linear", (3, 24, 24), 3, 3, 4),
    ("mlp", "flatten linear(16) relu linear", (3, 16, 16), 4, 3, 5),
]


def load_batch(data, in_shape, batch, classes, seed):
    """`batch` images (the i-th from class i % 3, the file drawn with the seed), resized to in_shape,
    after ToTensor and Normalize(0.5, 0.5). Targets: the image's class with 3 classes, else drawn."""
    folders = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)))
    gen = torch.Generator().manual_seed(seed)
    xs, targets, names = [], [], []
    for i in range(batch):
        folder = folders[i % len(folders)]
        files = sorted(os.listdir(os.path.join(data, folder)))
        name = files[int(torch.randint(len(files), (1,), generator=gen))]
        image = Image.open(os.path.join(data, folder, name)).convert("RGB")
        image = image.resize((in_shape[2], in_shape[1]), Image.Resampling.BILINEAR)
        pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
        x = pixels.view(in_shape[1], in_shape[2], 3).permute(2, 0, 1).float() / 255  # ToTensor
        xs.append((x - 0.5) / 0.5)  # Normalize(0.5, 0.5)
        if classes == len(folders):
            targets.append(i % len(folders))
        else:
            targets.append(int(torch.randint(classes, (1,), generator=gen)))
        names.append(f"{folder}/{name}")
    return torch.stack(xs).contiguous(), torch.tensor(targets, dtype=torch.int64), names


def unsettle_batchnorms(model, seed):
    """Give every batchnorm seeded non-trivial weight, bias and running statistics (variance > 0),
    so that eval mode (which normalises with the running statistics) is really tested."""
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, module in model.named_children():
            if name.startswith("bn"):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=gen))
                module.bias.copy_(0.2 * torch.randn(c, generator=gen))
                module.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=gen))


def without_dropout(text):
    """The text with every dropout's p set to 0 (what the train-mode dumps run)."""
    layers = cnn_arch.parse(text)
    for layer in layers:
        if layer["kind"] in ("dropout", "dropout2d"):
            layer["p"] = 0.0
    return " ".join(cnn_arch.layer_text(layer) for layer in layers)


def save_sorted(tensors, metadata, path):
    """safetensors.torch.save_file, but with the metadata in sorted order: the library writes it
    in hash-map order, which changes from run to run, and the files must be byte-identical."""
    raw = save(tensors, metadata=metadata)
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= size, "the header grew"
    with open(path, "wb") as f:
        f.write(raw[:8] + text.ljust(size) + raw[8 + size:])  # the header is padded with spaces


def state(model):
    """A copy of the whole state_dict: parameters and buffers (num_batches_tracked stays int64)."""
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def dump(name, text, in_shape, batch, classes, seed, mode, data):
    if mode == "train":
        text = without_dropout(text)
    model = cnn_arch.build(text, in_shape, classes, seed=seed)
    unsettle_batchnorms(model, seed)
    model.train(mode == "train")
    x, target, images = load_batch(data, in_shape, batch, classes, seed)

    tensors = {"input": x, "target": target}
    tensors.update({"init." + k: v for k, v in state(model).items()})
    opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    losses = []
    for step in range(3):
        opt.zero_grad()
        trace = {} if step == 0 else None
        loss = F.nll_loss(model(x, trace), target)  # = CrossEntropyLoss of the logits
        losses.append(loss.item())
        loss.backward()
        if step == 0:
            tensors.update({"act." + k: v.detach().clone().contiguous() for k, v in trace.items()})
            tensors["loss"] = loss.detach().reshape(1).clone()
            tensors.update({"grad." + k: p.grad.clone() for k, p in model.named_parameters()})
        opt.step()
        if step in (0, 2):
            tensors.update({f"adam{step + 1}." + k: v for k, v in state(model).items()})
    tensors["adam.losses"] = torch.tensor(losses, dtype=torch.float32)

    metadata = {"arch": model.text, "mode": mode, "seed": str(seed), "batch": str(batch),
                "classes": str(classes), "params": str(cnn_arch.param_count(model)),
                "torch": torch.__version__, "images": ",".join(images)}
    path = os.path.join(OUT, f"{name}-{mode}.safetensors")
    save_sorted(tensors, metadata, path)
    print(f"{os.path.relpath(path, ROOT)}: {cnn_arch.param_count(model)} params, "
          f"{os.path.getsize(path) // 1024} KB, losses {losses}")


def main():
    torch.set_num_threads(2)
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "../shared/data/ms-learn-shapes")
    if not os.path.isdir(data):
        sys.exit(f"no shape images at {data} (give the folder as the first argument)")
    os.makedirs(OUT, exist_ok=True)
    for name, text, in_shape, batch, classes, seed in ARCHS:
        for mode in ("eval", "train"):
            dump(name, text, in_shape, batch, classes, seed, mode, data)


if __name__ == "__main__":
    main()
