"""A checkpoint trained by cnn-tutor, read by PyTorch: the reference for
tests/suite/arch.rs::a_checkpoint_of_any_architecture_loads_into_pytorch.

usage (from the repository root):
    python3 tests/pytorch/make_interop_reference.py tests/fixtures/interop

The folder holds `model.safetensors` (trained by `cnn-tutor train --arch ...`; its metadata
names the architecture, the input size and the classes) and a few PNG images. The script
builds a PyTorch module from the checkpoint's own `arch` text (cnn_arch.build), loads the
state_dict with strict=True (every key, batch norm's buffers and num_batches_tracked
included, must match), and writes `pytorch.json`: per image, PyTorch's log-probabilities
and predicted class in eval mode. Needs torch, numpy, pillow, safetensors.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
import cnn_arch  # noqa: E402


def main():
    folder = sys.argv[1]
    model_path = os.path.join(folder, "model.safetensors")
    with safe_open(model_path, "pt") as f:
        meta = f.metadata()
    classes = json.loads(meta["classes"])
    c, h, w = (int(v) for v in meta["input"].split("x"))
    net = cnn_arch.build(meta["arch"], in_shape=(c, h, w), classes=len(classes))
    # strict: a missing or unexpected key (a buffer too) is an error
    net.load_state_dict(load_file(model_path), strict=True)
    net.eval()
    images = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
    out = []
    with torch.no_grad():
        for name in images:
            a = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.float32)
            x = ((torch.from_numpy(a / 255.0).permute(2, 0, 1) - 0.5) / 0.5).unsqueeze(0)
            lp = net(x)[0]
            out.append({
                "file": name,
                "log_probs": [float(v) for v in lp],
                "predicted": classes[int(lp.argmax())],
            })
    result = {
        "arch": meta["arch"],
        "params": cnn_arch.param_count(net),
        "torch": torch.__version__,
        "classes": classes,
        "images": out,
    }
    with open(os.path.join(folder, "pytorch.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"{len(out)} images; {meta['arch']}")


if __name__ == "__main__":
    main()
