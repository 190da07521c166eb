"""Jobs that write graphs: documents (``medkg build``) and curated knowledge (``medkg load-curated``).

:mod:`~kg.jobs.build_job` streams inputs through the loaders (and the extraction pipeline) into
batches; :mod:`~kg.jobs.curated_job` streams curated sources. Both write through
:meth:`kg.store.GraphStore.write`, so everything gets the same idempotency and provenance.
"""

from kg.jobs.build_job import BuildReport, LazyExtractor, check_inputs, run_build, validate_inputs
from kg.jobs.curated_job import CuratedRun, SourceRun, check_sources, format_run, load_curated, parse_paths

__all__ = [
    "BuildReport",
    "CuratedRun",
    "LazyExtractor",
    "SourceRun",
    "check_inputs",
    "check_sources",
    "format_run",
    "load_curated",
    "parse_paths",
    "run_build",
    "validate_inputs",
]
