#!/usr/bin/env bash
# The GPU checks of issue #5, in one call on a machine with an NVIDIA GPU (~8 minutes at
# most; each step has its own time limit). Two halves:
#
#   scripts/gpu_check.sh --build     here, with cargo: builds the release binary and the
#                                    real-GPU tests (tests/suite/gpu_cuda.rs, in the suite's binary) into
#                                    target/gpu-check/, with the golden file beside them
#   scripts/gpu_check.sh             there (no cargo needed; PyTorch with CUDA for the
#                                    comparison), from the repository root, with
#                                    target/gpu-check/ carried over
#
# What the second half does, printing everything:
#   1. where the driver and NVRTC are: nvidia-smi, libcuda.so.1, libnvrtc.so.13 (loader
#      cache, /usr/local/cuda*, pip's nvidia packages), torch's CUDA;
#   2. cnn-tutor verify --device cuda --reference shapes_net_seed42_batch4.safetensors;
#   3. the real-GPU tests (golden checks, CPU/GPU parity at batches 2 to 50);
#   4. draws 1,200 images, trains 5 epochs --device cuda --json (batch 50), then the seed's
#      PyTorch model on CUDA on the same images (scripts/pytorch_baseline.py --device cuda
#      --preload, batch 50), and prints the table: training images/s (median epoch and
#      all epochs), final validation accuracy, cnn-tutor/PyTorch, and PASS/FAIL for
#      >= 90% accuracy and >= PyTorch's images/s.
# Exit status: 0 when every step ran and passed, 1 otherwise (the steps after a failed
# one still run). Environment: PER_CLASS=400 EPOCHS=5 BATCH=50 SEED=42, PYTHON=python3,
# SKIP_PYTORCH=1, SKIP_TESTS=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=$ROOT/target/gpu-check
PER_CLASS=${PER_CLASS:-400}
EPOCHS=${EPOCHS:-5}
BATCH=${BATCH:-50}
SEED=${SEED:-42}
PYTHON=${PYTHON:-python3}
GOLDEN_NAME=shapes_net_seed42_batch4.safetensors

if [ "${1:-}" = "--build" ]; then
    set -e
    mkdir -p "$OUT"
    cargo build --release --quiet
    cp target/release/cnn-tutor "$OUT/cnn-tutor"
    exe=$(cargo test --release --test suite --no-run --message-format=json 2>/dev/null |
        "$PYTHON" -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "suite":
        print(m["executable"])')
    cp "$exe" "$OUT/gpu_cuda_tests"
    strip "$OUT/cnn-tutor" "$OUT/gpu_cuda_tests" 2>/dev/null || true
    for g in "$ROOT/../shared/golden/$GOLDEN_NAME" "$ROOT/shared/golden/$GOLDEN_NAME"; do
        if [ -f "$g" ]; then cp "$g" "$OUT/$GOLDEN_NAME"; break; fi
    done
    ls -la "$OUT"
    echo "carry target/gpu-check and run scripts/gpu_check.sh on the GPU machine"
    exit 0
fi

BIN=$OUT/cnn-tutor
[ -x "$BIN" ] || BIN=$ROOT/target/release/cnn-tutor
[ -x "$BIN" ] || { echo "error: no $OUT/cnn-tutor: run scripts/gpu_check.sh --build first" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cnn-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILED=()
step() { echo; echo "== $*"; }

step "1. driver, NVRTC, PyTorch"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi | head -4 | tail -2   # the driver and the CUDA version it supports
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
else
    echo "nvidia-smi: not found"
fi
echo "-- loader cache:"
ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc(-builtins)?\.so' | head -8 || true
echo "-- files:"
ls -1 /usr/lib/x86_64-linux-gnu/libcuda.so* /usr/local/cuda*/lib64/libnvrtc.so* \
    /usr/local/cuda*/targets/*/lib/libnvrtc.so* 2>/dev/null | head -10
"$PYTHON" - <<'PY' 2>&1 | head -10
import glob, os, site
dirs = site.getsitepackages() + [site.getusersitepackages()]
for d in dirs:
    for f in sorted(glob.glob(os.path.join(d, "nvidia", "*", "lib", "libnvrtc*.so*"))):
        print("pip:", f)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
except Exception as e:
    print("torch:", e)
PY
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

step "2. verify --device cuda"
GOLDEN=""
for g in "$OUT/$GOLDEN_NAME" "$ROOT/../shared/golden/$GOLDEN_NAME" "$ROOT/shared/golden/$GOLDEN_NAME"; do
    if [ -f "$g" ]; then GOLDEN=$g; break; fi
done
if [ -z "$GOLDEN" ]; then
    echo "no $GOLDEN_NAME found"; FAILED+=("verify (no golden file)")
elif ! timeout 120 "$BIN" verify --device cuda --reference "$GOLDEN"; then
    FAILED+=("verify")
fi

step "3. real-GPU tests (tests/suite/gpu_cuda.rs)"
if [ -n "${SKIP_TESTS:-}" ]; then
    echo "skipped (SKIP_TESTS)"
elif [ -x "$OUT/gpu_cuda_tests" ]; then
    CNN_TUTOR_GOLDEN=${GOLDEN:-} timeout 180 "$OUT/gpu_cuda_tests" gpu_cuda:: --test-threads 1 \
        --nocapture >"$WORK/tests.out" 2>&1
    rc=$?
    grep -E '^test |skipped|panicked|error|test result' "$WORK/tests.out" | head -40
    [ $rc = 0 ] || FAILED+=("gpu tests (exit $rc)")
    if grep -q "skipped: no usable GPU" "$WORK/tests.out"; then
        FAILED+=("gpu tests (skipped: no usable GPU)")
    fi
else
    echo "no $OUT/gpu_cuda_tests (run --build)"; FAILED+=("gpu tests (missing)")
fi

step "4. training: cnn-tutor on CUDA, then PyTorch on CUDA"
"$BIN" data generate --out "$WORK/shapes" --per-class "$PER_CLASS" --seed "$SEED" >/dev/null ||
    FAILED+=("data generate")
if ! timeout 240 "$BIN" train --device cuda --json --data "$WORK/shapes" --epochs "$EPOCHS" \
    --batch-size "$BATCH" --seed "$SEED" --out "$WORK/model.safetensors" >"$WORK/rust.json" \
    2>"$WORK/rust.err"; then
    FAILED+=("train --device cuda")
fi
cat "$WORK/rust.err" "$WORK/rust.json"
if [ -z "${SKIP_PYTORCH:-}" ]; then
    if ! timeout 240 "$PYTHON" "$ROOT/scripts/pytorch_baseline.py" "$WORK/shapes" --device cuda \
        --preload --epochs "$EPOCHS" --batch-size "$BATCH" --seed "$SEED" \
        --threads "$(nproc)" >"$WORK/torch.json" 2>"$WORK/torch.err"; then
        FAILED+=("pytorch")
    fi
    tail -3 "$WORK/torch.err"
    cat "$WORK/torch.json"
fi

step "table"
"$PYTHON" - "$WORK/rust.json" "$WORK/torch.json" <<'PY' || FAILED+=("table")
import json, statistics, sys

def epochs(path):
    rows = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                o = json.loads(line)
                if "epoch" in o:
                    rows.append(o)
    except FileNotFoundError:
        pass
    return rows

r, t = epochs(sys.argv[1]), epochs(sys.argv[2])
def stats(rows):
    if not rows:
        return None
    ips = [e["train_images_per_second"] for e in rows]
    return {
        "median": statistics.median(ips[1:] or ips),
        "all": len(ips) / sum(1 / x for x in ips),  # total images / total seconds
        "acc": rows[-1]["val_accuracy"],
        "sec": statistics.median(e["seconds"] for e in rows),
    }
a, b = stats(r), stats(t)
fmt = lambda v, f: (f % v) if v is not None else "-"
print(f"{'':34}{'cnn-tutor':>12}{'PyTorch':>12}{'ratio':>9}")
for name, key, f in [("train images/s (median, epochs 2+)", "median", "%.0f"),
                     ("train images/s (all epochs)", "all", "%.0f"),
                     ("seconds per epoch (median)", "sec", "%.2f"),
                     ("final val accuracy", "acc", "%.3f")]:
    x = a and a[key]; y = b and b[key]
    ratio = f"{x / y:.2f}x" if x and y else "-"
    print(f"{name:34}{fmt(x, f):>12}{fmt(y, f):>12}{ratio:>9}")
ok = True
if not a:
    print("FAIL: cnn-tutor did not train"); ok = False
else:
    acc_ok = a["acc"] >= 0.90
    print(f"{'PASS' if acc_ok else 'FAIL'}: validation accuracy {a['acc']:.3f} (bar 0.90)")
    ok &= acc_ok
    if b:
        fast = a["median"] >= b["median"]
        print(f"{'PASS' if fast else 'BELOW'}: {a['median']:.0f} against PyTorch's {b['median']:.0f} images/s")
sys.exit(0 if ok else 1)
PY

echo
if [ ${#FAILED[@]} -eq 0 ]; then
    echo "gpu_check: all steps passed"
else
    echo "gpu_check: failed: ${FAILED[*]}"
    exit 1
fi
