#!/usr/bin/env bash
# Train the seed's shapes CNN with cnn-tutor and with PyTorch (CPU, 2 threads, batch 50,
# 5 epochs) on the same freshly drawn images, and print a table: training images/s,
# seconds per epoch, peak memory, final validation accuracy, and cnn-tutor / PyTorch,
# then whether issue #6's bar is met (>= 2x the images/s, <= 1/3 of the peak memory,
# >= 95% validation accuracy).
#
# Usage: scripts/compare.sh            (from anywhere inside the repository)
# Environment:
#   DATA=DIR        use this image folder instead of drawing 1,200 new images
#   PER_CLASS=400   images per class to draw       SEED=42   seed for drawing and training
#   EPOCHS=5        epochs for both                 PRELOAD=1 PyTorch decodes images once
#   RUNS=1          runs of each side, alternating (cnn-tutor, PyTorch, cnn-tutor, ...);
#                   the table pools the epochs of all runs
#   THREADS=2       threads for both                VENV=DIR  Python environment
#                                                   (default target/pytorch-venv)
#   SKIP_RUST=1 / SKIP_PYTORCH=1   run one side only
#   NO_BUILD=1      use the release binary already in target/release
#   STRICT=1        exit with status 3 when the bar is not met
#   ARCH="..."      another network (cnn-tutor's architecture text) for both sides; PyTorch
#                   builds it with tests/pytorch/cnn_arch.py (the same layers and names)
#
# The first run makes a virtual environment and installs torch and torchvision from PyPI
# (several GB, a few minutes). Nothing here is committed: target/ is git-ignored and the
# images and checkpoints go to a temporary folder that is removed at the end.
# Peak memory is the child's maximum resident set size as the kernel counts it
# (getrusage), so GNU time is not needed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/target/pytorch-venv}
PER_CLASS=${PER_CLASS:-400}
SEED=${SEED:-42}
EPOCHS=${EPOCHS:-5}
RUNS=${RUNS:-1}
THREADS=${THREADS:-2}

die() {
    echo "error: $*" >&2
    exit 1
}
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_count "$PER_CLASS" || die "PER_CLASS must be a positive whole number, not '$PER_CLASS'"
is_count "$EPOCHS" || die "EPOCHS must be a positive whole number, not '$EPOCHS'"
is_count "$RUNS" || die "RUNS must be a positive whole number, not '$RUNS'"
is_count "$THREADS" || die "THREADS must be a positive whole number, not '$THREADS'"
[[ $SEED =~ ^[0-9]+$ ]] || die "SEED must be a whole number, not '$SEED'"
command -v python3 >/dev/null || die "python3 is needed (for the venv, the timing and the table)"
if [ -n "${SKIP_RUST:-}" ] && [ -n "${SKIP_PYTORCH:-}" ]; then
    die "SKIP_RUST and SKIP_PYTORCH together leave nothing to run"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cnn-tutor-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "${SKIP_PYTORCH:-}" ] && ! "$VENV/bin/python" -c "import torch, torchvision" 2>/dev/null; then
    echo "== installing torch and torchvision into $VENV (once)" >&2
    python3 -m venv "$VENV" || die "cannot make a virtual environment (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet torch torchvision ||
        die "pip could not install torch and torchvision into $VENV"
    "$VENV/bin/python" -c "import torch, torchvision" || die "torch does not import in $VENV"
fi

BIN=$ROOT/target/release/cnn-tutor
if [ -z "${NO_BUILD:-}" ]; then
    echo "== building cnn-tutor (release)" >&2
    cargo build --release --quiet
fi
[ -x "$BIN" ] || die "$BIN is missing (run without NO_BUILD, or cargo build --release)"

if [ -n "${DATA:-}" ]; then
    [ -d "$DATA" ] || die "DATA=$DATA is not a folder"
    IMAGES=$DATA
else
    IMAGES=$WORK/shapes
    "$BIN" data generate --out "$IMAGES" --per-class "$PER_CLASS" --seed "$SEED" >&2
fi

# Run a command with stdout to $1, stderr to $1.err, and write its peak RSS (KiB) to $1.rss.
measure() {
    local out=$1
    shift
    python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "w") as so, open(out + ".err", "w") as se:
    rc = subprocess.call(cmd, stdout=so, stderr=se)
with open(out + ".rss", "w") as f:
    # Linux: KiB; the largest of this runner's children, which is the one command
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
PY
}

run_rust() {
    local i=$1
    echo "== cnn-tutor train, run $i ($EPOCHS epochs, $THREADS threads)" >&2
    local arch=()
    if [ -n "${ARCH:-}" ]; then arch=(--arch "$ARCH"); fi
    measure "$WORK/rust.$i.jsonl" "$BIN" train --json --data "$IMAGES" --epochs "$EPOCHS" \
        --batch-size 50 --lr 0.001 --seed "$SEED" --device cpu --threads "$THREADS" \
        "${arch[@]}" --out "$WORK/rust.safetensors" ||
        { cat "$WORK/rust.$i.jsonl.err" >&2; die "cnn-tutor train failed"; }
    cat "$WORK/rust.$i.jsonl" >&2
}

run_torch() {
    local i=$1
    echo "== PyTorch, run $i ($EPOCHS epochs, $THREADS threads)" >&2
    local args=(--epochs "$EPOCHS" --seed "$SEED" --threads "$THREADS")
    if [ -n "${PRELOAD:-}" ]; then args+=(--preload); fi
    if [ -n "${ARCH:-}" ]; then args+=(--arch "$ARCH"); fi
    measure "$WORK/py.$i.jsonl" "$VENV/bin/python" scripts/pytorch_baseline.py "$IMAGES" \
        "${args[@]}" ||
        { cat "$WORK/py.$i.jsonl.err" >&2; die "the PyTorch baseline failed"; }
    cat "$WORK/py.$i.jsonl" >&2
}

# Other work on the machine skews both sides: note how busy it was before and after.
cut -d' ' -f1-3 /proc/loadavg > "$WORK/load" 2>/dev/null || echo "?" > "$WORK/load"
for i in $(seq 1 "$RUNS"); do
    if [ -z "${SKIP_RUST:-}" ]; then run_rust "$i"; fi
    if [ -z "${SKIP_PYTORCH:-}" ]; then run_torch "$i"; fi
done
cut -d' ' -f1-3 /proc/loadavg >> "$WORK/load" 2>/dev/null || echo "?" >> "$WORK/load"

set +e
python3 - "$WORK" "$(nproc 2>/dev/null || echo '?')" <<'PY'
import glob, json, os, sys

work, cores = sys.argv[1], sys.argv[2]

def median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2

def side(name):
    """Epochs of every run of one side, pooled; None when it did not run."""
    runs = sorted(glob.glob(os.path.join(work, name + ".*.jsonl")))
    if not runs:
        return None
    epochs, rss, accs, train_images, params = [], [], [], set(), set()
    for path in runs:
        mine = []
        for line in open(path):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            if "epoch" in obj and "train_images_per_second" in obj:
                mine.append(obj)
            if obj.get("train_images") is not None:
                train_images.add(obj["train_images"])
            if obj.get("train_size") is not None:
                train_images.add(obj["train_size"])
            if obj.get("params") is not None:
                params.add(obj["params"])
        if not mine:
            sys.exit("error: no epoch lines in " + path)
        epochs += mine
        acc = float(mine[-1]["val_accuracy"])
        accs.append(acc / 100.0 if acc > 1.0 else acc)  # given in percent
        rss.append(int(open(path + ".rss").read()) / 1024.0)
    return {
        "ips": median([e["train_images_per_second"] for e in epochs]),
        "best": max(e["train_images_per_second"] for e in epochs),
        "spe": median([e["seconds"] for e in epochs]),
        "rss": max(rss),
        "acc": min(accs),
        "runs": len(runs),
        "train_images": sorted(train_images),
        "params": "/".join(map(str, sorted(params))) or None,
    }

rust, torch = side("rust"), side("py")
load = open(os.path.join(work, "load")).read().split("\n")
print("load average (1, 5, 15 min) before: {}; after: {}; {} cores".format(
    load[0].strip(), (load[1] if len(load) > 1 else "?").strip(), cores))
if os.environ.get("ARCH"):
    print("network: " + os.environ["ARCH"])
for label, s in (("cnn-tutor", rust), ("PyTorch", torch)):
    if s and s["params"]:
        print("{}: {} trainable parameters".format(label, s["params"]))
for label, s in (("cnn-tutor", rust), ("PyTorch", torch)):
    if s:
        per_epoch = ", {} training images per epoch".format(
            "/".join(map(str, s["train_images"]))) if s["train_images"] else ""
        print("{}: {} run(s){}".format(label, s["runs"], per_epoch))
rows = [
    ("training images/s", "ips", "{:.1f}"),  # median over all epochs
    ("best epoch images/s", "best", "{:.1f}"),  # the least disturbed by other work
    ("seconds per epoch", "spe", "{:.2f}"),  # median, training + validation
    ("peak RSS (MiB)", "rss", "{:.0f}"),  # the largest over the runs
    ("final val accuracy", "acc", "{:.3f}"),  # the lowest over the runs
]
def cell(s, key, fmt):
    return fmt.format(s[key]) if s and s[key] is not None else "-"
print("{:<20} {:>12} {:>12} {:>18}".format("", "cnn-tutor", "PyTorch", "cnn-tutor/PyTorch"))
for label, key, fmt in rows:
    ratio = "-"
    if rust and torch and rust[key] and torch[key]:
        ratio = "{:.2f}x".format(rust[key] / torch[key])
    print("{:<20} {:>12} {:>12} {:>18}".format(
        label, cell(rust, key, fmt), cell(torch, key, fmt), ratio))

if not (rust and torch):
    sys.exit(0)
checks = [
    ("training images/s >= 2x PyTorch's", rust["ips"] >= 2.0 * torch["ips"]),
    ("peak RSS <= 1/3 of PyTorch's", rust["rss"] * 3 <= torch["rss"]),
    ("validation accuracy >= 95%", rust["acc"] >= 0.95),
]
print()
for what, ok in checks:
    print("{} {}".format("PASS" if ok else "FAIL", what))
sys.exit(0 if all(ok for _, ok in checks) else 3)
PY
status=$?
set -e
if [ "$status" -eq 3 ] && [ -z "${STRICT:-}" ]; then
    status=0
fi
exit "$status"
