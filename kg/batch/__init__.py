"""Resumable batch jobs: ``extract`` (inputs -> sharded Document files + manifest) and ``load``
(those files -> a graph store).

Splitting a build in two lets the expensive, model-bound step run once (on a GPU machine, say)
and its output be loaded into any number of stores, and makes each step restartable on its own:
kill either job at any point, run the same command again, and it finishes with exactly the graph
an uninterrupted run gives. How each step achieves that is explained in :mod:`kg.batch.extract`
and :mod:`kg.batch.load`; the directory layout in :mod:`kg.batch.manifest`.
"""

from __future__ import annotations

from kg.batch.extract import ExtractReport, format_extract_summary, run_extract
from kg.batch.load import LoadReport, format_load_summary, run_load
from kg.batch.manifest import BatchError, CorruptShardError, ExtractionDirError, Manifest, ManifestMismatchError, read_manifest
from kg.batch.ray_engine import RayEngineError, RayOptions

__all__ = [
    "BatchError",
    "CorruptShardError",
    "ExtractReport",
    "ExtractionDirError",
    "LoadReport",
    "Manifest",
    "ManifestMismatchError",
    "RayEngineError",
    "RayOptions",
    "format_extract_summary",
    "format_load_summary",
    "read_manifest",
    "run_extract",
    "run_load",
]
