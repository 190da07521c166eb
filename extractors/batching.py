"""Inference batching shared by the NER and relation models.

Both models turn their inputs into token-id rows of very different lengths (a title of 10
wordpieces, a 250-wordpiece sentence), so a forward pass is cheapest when its rows have similar
lengths: rows are sorted by token count, cut into batches of at most ``batch_size`` rows and at
most ``max_tokens`` padded tokens, and padded only to the longest row of their batch.

The count of tokens is known only after tokenising, and tokenising in the model's process would
leave a GPU idle meanwhile. So the inputs are cut into *groups* of ``group_size``; a
:class:`torch.utils.data.DataLoader` over a :class:`GroupDataset` tokenises, sorts and batches
one group per item (``__getitem__``) and pads its batches (:func:`pad_group`, the loader's
``collate_fn``), in ``num_workers`` worker processes that work ahead while the model runs on the
previous group. On CUDA the padded tensors come back in pinned memory and are copied with
``non_blocking=True``, and each group's forward passes are queued before the previous group's
outputs are decoded (:func:`pipelined`), so the GPU does not wait for Python-side decoding.

``group_size=None`` makes the whole input one group: the batches are then exactly those of
sorting and batching the whole input at once, which is what the CPU default keeps, so CPU
results do not change (a different batch composition changes fp32 scores in the 7th digit).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from extractors.transformer import Device

CUDA_MAX_TOKENS = 16384
"""Padded tokens per forward pass on CUDA. A MiniLM-class encoder keeps the GPU busy from a few
thousand tokens per pass; 16k bounds activation memory (a few hundred MB in bf16 at 256-token
rows) far below any datacentre GPU while leaving no launch-bound small batches."""

CUDA_BATCH_SIZE = 1024
"""Row cap per pass on CUDA; with short rows the token budget is what binds."""

CUDA_GROUP_SIZE = 1024
"""Inputs a CUDA worker prepares per item: large enough for well-filled sorted batches, small
enough that the first group is ready quickly and several are in flight."""


@dataclass(frozen=True, slots=True)
class Batching:
    """How inference inputs are grouped, batched and fed to the model.

    ``batch_size``: rows per forward pass at most. ``max_tokens``: padded tokens (rows x longest
    row) per pass at most, ``None`` for no budget (a row longer than the budget gets a batch of
    its own). ``group_size``: inputs tokenised and sorted together, ``None`` for all of them
    at once. ``num_workers``: DataLoader worker processes preparing groups ahead of the model
    (0: prepared in the calling process, in turn with the model).
    """

    batch_size: int = 32
    max_tokens: int | None = None
    group_size: int | None = None
    num_workers: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"Batching.batch_size must be a positive integer, got {self.batch_size!r}")
        for name in ("max_tokens", "group_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Batching.{name} must be a positive integer or None, got {value!r}")
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ValueError(f"Batching.num_workers must be an integer >= 0, got {self.num_workers!r}")

    @classmethod
    def for_device(cls, device: Device, *, batch_size: int) -> Batching:
        """The default for ``device``: on CPU fixed batches of ``batch_size`` over the whole
        input, prepared in-process (results identical to the unbatched-loader code, and worker
        processes would only compete with the model for the cores); on CUDA token-budgeted
        batches over groups prepared by worker processes."""
        if device.type != "cuda":
            return cls(batch_size=batch_size)
        workers = max(1, min(8, (os.cpu_count() or 2) // 2))
        return cls(batch_size=CUDA_BATCH_SIZE, max_tokens=CUDA_MAX_TOKENS, group_size=CUDA_GROUP_SIZE, num_workers=workers)

    def with_batch_size(self, batch_size: int | None) -> Batching:
        """This batching with a caller's ``batch_size`` (``None`` keeps it)."""
        return self if batch_size is None else replace(self, batch_size=batch_size)


def length_batches(
    lengths: Sequence[int], *, batch_size: int, max_tokens: int | None = None, descending: bool = False
) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length (stable), cut into batches.

    A batch closes when it holds ``batch_size`` rows or when one more row would make
    rows x longest row exceed ``max_tokens``.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__, reverse=descending)
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        wider = max(width, lengths[i])
        full = len(current) == batch_size or (max_tokens is not None and wider * (len(current) + 1) > max_tokens)
        if current and full:
            batches.append(current)
            current, wider = [], lengths[i]
        current.append(i)
        width = wider
    if current:
        batches.append(current)
    return batches


@dataclass(slots=True)
class Batch:
    """One forward pass: ``index`` says which of the group's rows it holds, in which order.

    ``rows`` (token ids), ``extra`` (one integer per row, e.g. marker positions) and
    ``token_extra`` (one integer per token, e.g. word-shape ids, padded with 0 like the rows) are
    filled by the dataset; :func:`pad_group` turns them into ``tensors`` and drops ``rows``.
    """

    index: list[int]
    lengths: list[int]
    rows: list[list[int]] | None = None
    extra: dict[str, list[int]] = field(default_factory=dict)
    token_extra: dict[str, list[list[int]]] = field(default_factory=dict)
    tensors: dict[str, Any] = field(default_factory=dict)

    def pin_memory(self) -> Batch:
        """Called by the DataLoader (``pin_memory=True``) so copies to the GPU can overlap."""
        return replace(self, tensors={k: v.pin_memory() for k, v in self.tensors.items()})

    def to(self, device: Device) -> dict[str, Any]:
        """The tensors on ``device``; asynchronous from pinned memory on CUDA."""
        non_blocking = device.type == "cuda"
        return {k: v.to(device.torch_device, non_blocking=non_blocking) for k, v in self.tensors.items()}


@dataclass(slots=True)
class Group:
    """One prepared group: its inputs ``start .. start + size``, their batches, and whatever
    the model needs afterwards to map batch rows back to inputs (``meta``)."""

    start: int
    size: int
    batches: list[Batch]
    meta: Any = None

    def pin_memory(self) -> Group:
        return replace(self, batches=[b.pin_memory() for b in self.batches])


def pad_group(group: Group, *, pad_id: int) -> Group:
    """Dynamic padding of every batch of ``group`` to its longest row (the loader's collate)."""
    import torch

    for batch in group.batches:
        rows = batch.rows or []
        width = max(batch.lengths)
        batch.tensors = {
            "input_ids": torch.tensor([r + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long),
            "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long),
            **{k: torch.tensor(v, dtype=torch.long) for k, v in batch.extra.items()},
            **{k: torch.tensor([r + [0] * (width - len(r)) for r in v], dtype=torch.long) for k, v in batch.token_extra.items()},
        }
        batch.rows = None
        batch.token_extra = {}
    return group


class GroupDataset:
    """Base of the models' datasets: ``n`` inputs in groups of ``group_size`` (``None``: one).

    Subclasses implement ``__getitem__(g) -> Group`` for inputs :meth:`bounds` ``(g)``. They
    must hold only picklable, model-free state (texts, the tokenizer, settings), since worker
    processes get a copy.
    """

    def __init__(self, n: int, group_size: int | None) -> None:
        self.n = n
        self.group_size = group_size or max(n, 1)

    def __len__(self) -> int:
        return math.ceil(self.n / self.group_size)

    def bounds(self, g: int) -> tuple[int, int]:
        if not 0 <= g < len(self):
            raise IndexError(f"group {g} out of range (0..{len(self) - 1})")
        return g * self.group_size, min(self.n, (g + 1) * self.group_size)


@dataclass(frozen=True, slots=True)
class _Collate:
    """Picklable ``collate_fn`` (worker processes may be spawned rather than forked)."""

    pad_id: int

    def __call__(self, group: Group) -> Group:
        return pad_group(group, pad_id=self.pad_id)


def prepared_groups(dataset: GroupDataset, *, batching: Batching, device: Device, pad_id: int) -> Iterator[Group]:
    """The dataset's groups, in order, padded, pinned on CUDA, prepared ahead by workers."""
    from torch.utils.data import DataLoader

    workers = min(batching.num_workers, len(dataset))
    loader = DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=None,  # each item is already a list of batches
        shuffle=False,
        collate_fn=_Collate(pad_id),
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=2 if workers else None,
    )
    return iter(loader)


@dataclass(slots=True)
class Launched:
    """Forward passes queued on the device for one group, their outputs being copied to the host.

    On CUDA nothing waits for the GPU until :meth:`wait`, so the caller can decode the previous
    group while the GPU computes this one; on CPU everything has already run.
    """

    group: Group
    outputs: list[Any]
    done: Any = None  # a CUDA event recorded after the last copy

    def wait(self) -> list[Any]:
        if self.done is not None:
            self.done.synchronize()
        return self.outputs


def to_host(tensor: Any, device: Device) -> Any:
    """Start copying ``tensor`` to (pinned) host memory without waiting; read it after :meth:`Launched.wait`."""
    return tensor.to("cpu", non_blocking=True) if device.type == "cuda" else tensor


def index_on(rows: list[int], device: Device) -> Any:
    """``rows`` as an index into a tensor on ``device``: the list itself on CPU; on CUDA a pinned
    tensor copied asynchronously (indexing with a list copies it from pageable memory, and such a
    copy makes the host wait for all queued GPU work)."""
    if device.type != "cuda":
        return rows
    import torch

    return torch.tensor(rows, dtype=torch.long).pin_memory().to(device.torch_device, non_blocking=True)


def launched(group: Group, outputs: list[Any], device: Device) -> Launched:
    """Mark the end of ``group``'s queued work (a CUDA event; nothing on CPU)."""
    if device.type != "cuda":
        return Launched(group, outputs)
    import torch

    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(device.torch_device))
    return Launched(group, outputs, event)


def pipelined(groups: Iterator[Group], launch: Any) -> Iterator[Launched]:
    """``launch(group)`` for each group, yielding each launched group once the *next* one is
    queued, so host-side work on a group's outputs overlaps the device's work on the next."""
    previous: Launched | None = None
    for group in groups:
        current = launch(group)
        if previous is not None:
            yield previous
        previous = current
    if previous is not None:
        yield previous
