#!/usr/bin/env bash
# Train the seed's shapes CNN with cnn-tutor and with PyTorch (CPU, 2 threads, batch 50,
# 5 epochs) on the same freshly drawn images, and print a table: training images/s,
# seconds per epoch, peak memory, final validation accuracy, and cnn-tutor / PyTorch.
#
# Usage: scripts/compare.sh            (from anywhere inside the repository)
# Environment:
#   DATA=DIR        use this image folder instead of drawing 1,200 new images
#   PER_CLASS=400   images per class to draw       SEED=42   seed for drawing and training
#   EPOCHS=5        epochs for both                 PRELOAD=1 PyTorch decodes images once
#   VENV=DIR        Python environment (default target/pytorch-venv)
#   SKIP_RUST=1 / SKIP_PYTORCH=1   run one side only
#   NO_BUILD=1      use the release binary already in target/release
#
# The first run makes a virtual environment and installs torch and torchvision from PyPI
# (several GB, a few minutes). Nothing here is committed: target/ is git-ignored and the
# images and checkpoints go to a temporary folder that is removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/target/pytorch-venv}
PER_CLASS=${PER_CLASS:-400}
SEED=${SEED:-42}
EPOCHS=${EPOCHS:-5}
TIME=/usr/bin/time

if [ ! -x "$TIME" ]; then
    echo "error: $TIME is missing (GNU time; on Debian: apt-get install time)" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cnn-tutor-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "${SKIP_PYTORCH:-}" ] && ! "$VENV/bin/python" -c "import torch, torchvision" 2>/dev/null; then
    echo "== installing torch and torchvision into $VENV (once)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet torch torchvision
fi

if [ -z "${NO_BUILD:-}" ]; then
    echo "== building cnn-tutor (release)" >&2
    cargo build --release --quiet
fi
BIN=$ROOT/target/release/cnn-tutor

if [ -n "${DATA:-}" ]; then
    IMAGES=$DATA
else
    IMAGES=$WORK/shapes
    "$BIN" data generate --out "$IMAGES" --per-class "$PER_CLASS" --seed "$SEED" >&2
fi

# Other work on the machine skews both sides: note how busy it was.
cut -d' ' -f1-3 /proc/loadavg > "$WORK/load" 2>/dev/null || echo "?" > "$WORK/load"

if [ -z "${SKIP_RUST:-}" ]; then
    echo "== cnn-tutor train ($EPOCHS epochs)" >&2
    "$TIME" -v -o "$WORK/rust.time" "$BIN" train --json --data "$IMAGES" --epochs "$EPOCHS" \
        --batch-size 50 --lr 0.001 --seed "$SEED" --device cpu --out "$WORK/rust.safetensors" \
        > "$WORK/rust.jsonl"
    cat "$WORK/rust.jsonl" >&2
fi

if [ -z "${SKIP_PYTORCH:-}" ]; then
    echo "== PyTorch ($EPOCHS epochs, 2 threads)" >&2
    PY_ARGS=(--epochs "$EPOCHS" --seed "$SEED" --threads 2)
    if [ -n "${PRELOAD:-}" ]; then PY_ARGS+=(--preload); fi
    "$TIME" -v -o "$WORK/py.time" "$VENV/bin/python" scripts/pytorch_baseline.py "$IMAGES" \
        "${PY_ARGS[@]}" > "$WORK/py.jsonl"
    cat "$WORK/py.jsonl" >&2
fi

python3 - "$WORK" <<'PY'
import json, os, re, sys

work = sys.argv[1]

def side(name):
    """Per-epoch JSON lines and the peak RSS (MiB) measured by GNU time, or None."""
    out, tim = os.path.join(work, name + ".jsonl"), os.path.join(work, name + ".time")
    if not os.path.exists(out):
        return None
    epochs = []
    for line in open(out):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "epoch" in obj and "train_images_per_second" in obj:
            epochs.append(obj)
    rss = None
    for line in open(tim):
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", line)
        if m:
            rss = int(m.group(1)) / 1024.0
    if not epochs:
        return None
    acc = float(epochs[-1]["val_accuracy"])
    if acc > 1.0:  # given in percent
        acc /= 100.0
    def median(xs):
        xs = sorted(xs)
        mid = len(xs) // 2
        return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2
    return {
        "ips": median([e["train_images_per_second"] for e in epochs]),
        "best": max(e["train_images_per_second"] for e in epochs),
        "spe": median([e["seconds"] for e in epochs]),
        "rss": rss,
        "acc": acc,
    }

rust, torch = side("rust"), side("py")
rows = [
    ("training images/s", "ips", "{:.1f}"),  # median over the epochs
    ("best epoch images/s", "best", "{:.1f}"),  # least disturbed by other work
    ("seconds per epoch", "spe", "{:.2f}"),  # median, training + validation
    ("peak RSS (MiB)", "rss", "{:.0f}"),
    ("final val accuracy", "acc", "{:.3f}"),
]
def cell(s, key, fmt):
    return fmt.format(s[key]) if s and s[key] is not None else "-"
print("median epoch; load average before the runs: " + open(os.path.join(work, "load")).read().strip())
print("{:<20} {:>12} {:>12} {:>16}".format("", "cnn-tutor", "PyTorch", "cnn-tutor/PyTorch"))
for label, key, fmt in rows:
    ratio = "-"
    if rust and torch and rust[key] and torch[key]:
        ratio = "{:.2f}x".format(rust[key] / torch[key])
    print("{:<20} {:>12} {:>12} {:>16}".format(label, cell(rust, key, fmt), cell(torch, key, fmt), ratio))
PY
