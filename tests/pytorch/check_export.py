"""`cnn-tutor export --pytorch` against PyTorch: tests/fixtures/export/.

Draws 20 images per class (seed 11), trains a non-course network (a strided conv, batch
norm, leaky ReLU, average pooling, both dropouts, a hidden linear with tanh) for 4 epochs
with cnn-tutor, exports it with `cnn-tutor export --pytorch`, then for 12 images (4 per
class) compares:
  - `python net.py MODEL IMAGE...` (the exported file's own __main__: `IMAGE: CLASS`) with
    `cnn-tutor predict`'s class;
  - the exported module's log-probabilities (PyTorch, the checkpoint loaded with
    strict=True) with `cnn-tutor predict --json`'s probabilities.
Writes tests/fixtures/export/net.py (the exported file) and result.txt (one line per
image, then a summary); tests/suite/export_pytorch.rs reads result.txt.

Run from the repository root after `cargo build --release`:
    python3 tests/pytorch/check_export.py [target/release/cnn-tutor]
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests/fixtures/export")
ARCH = ("conv(6,5,stride=2) batchnorm leakyrelu maxpool(2) conv(8,3) relu avgpool(2) "
        "dropout2d(0.1) flatten linear(16) tanh dropout(0.2) linear")


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                             os.path.join(ROOT, "target/release/cnn-tutor"))
    work = tempfile.mkdtemp()
    try:
        run(binary, "data", "generate", "--out", "d", "--per-class", "20", "--seed", "11", cwd=work)
        run(binary, "train", "--data", "d", "--epochs", "4", "--batch-size", "10", "--seed", "3",
            "--threads", "2", "--device", "cpu", "--arch", ARCH, "--out", "m.safetensors", cwd=work)
        run(binary, "export", "--pytorch", "net.py", "--model", "m.safetensors", cwd=work)
        images = [os.path.join("d", c, f"{c}{i:04}.png")
                  for c in ("circle", "square", "triangle") for i in range(1, 5)]
        exported = dict(l.rsplit(": ", 1) for l in
                        run(sys.executable, "net.py", "m.safetensors", *images, cwd=work).splitlines())
        ours = json.loads(run(binary, "predict", "--json", "--model", "m.safetensors", *images, cwd=work))
        sys.path.insert(0, work)
        import net  # the exported file
        model = net.load_model(os.path.join(work, "m.safetensors"))
        with torch.no_grad():
            logp = model(torch.stack([net.load_image(os.path.join(work, p)) for p in images]))
        lines, agree, worst = [], 0, 0.0
        for i, (path, p) in enumerate(zip(images, ours["predictions"])):
            theirs = [math.log(v) for v in p["probabilities"]]
            diff = max(abs(a - b) for a, b in zip(theirs, logp[i].tolist()))
            worst = max(worst, diff)
            same = exported[path] == p["predicted"]
            agree += same
            lines.append(f"{path}: cnn-tutor {p['predicted']}, pytorch {exported[path]}, "
                         f"max |log-prob difference| {diff:.2e}{'' if same else '  DIFFERENT'}")
        lines.append(f"agree {agree}/{len(images)}; worst log-prob difference {worst:.2e}; "
                     f"torch {torch.__version__}; arch {ARCH}")
        os.makedirs(OUT, exist_ok=True)
        shutil.copy(os.path.join(work, "net.py"), os.path.join(OUT, "net.py"))
        with open(os.path.join(OUT, "result.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
