"""Write one benchmark's section into BENCHMARKS.md (between markers), keeping the others."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEvery number here is written by a script in `benchmarks/`; rerun the command shown to reproduce it.\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    return f"{os.cpu_count()} cores ({cpu}{_vector_isa()}), {mem} RAM, Python {platform.python_version()}, {platform.system()}"


def precision(device: str = "auto") -> str:
    """How the models run here: bf16 autocast on a CPU with native bf16 unless ``MEDKG_CPU_BF16=0``
    (:func:`extractors.transformer.pick_inference_device`), else fp32."""
    from extractors.transformer import pick_inference_device

    on = pick_inference_device(device).bf16
    return "bf16 autocast" if on else "fp32" + (" (MEDKG_CPU_BF16=0)" if os.environ.get("MEDKG_CPU_BF16", "").strip() == "0" else "")


def _vector_isa() -> str:
    """", AVX512-BF16" / ", AVX-512" / ", no AVX-512": hosts sold under one model name differ here,
    and CPU inference speed (bf16 autocast needs AVX512-BF16) differs with it by a factor of 2-3."""
    try:
        flags = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "").split()
    except OSError:
        return ""
    if not flags:
        return ""
    return ", AVX512-BF16" if "avx512_bf16" in flags else ", AVX-512" if "avx512f" in flags else ", no AVX-512"


def write_section(name: str, body: str) -> None:
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")
