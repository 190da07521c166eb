"""The canonical concept rule for the jobs: the default table and the options that record it.

The graph core (:func:`kg.build.build_batch`) applies whatever table it is given but does not load
one (the table comes from the extractors' linking KB, a floor the core does not import); every job
that writes documents calls :func:`canonical_setup` and passes the table on.
"""

from __future__ import annotations

from typing import Any

from kg.build import BuildOptions

__all__ = ["canonical_setup"]


def canonical_setup(options: BuildOptions | None = None) -> tuple[BuildOptions, Any]:
    """``options`` with the default table's fingerprint, and the table (``None`` when the rule is off)."""
    options = options or BuildOptions()
    if not options.canonical_ids:
        return options, None
    from extractors.linking.canonical import default_canonical_fingerprint, default_canonical_ids

    return options.model_copy(update={"canonical_version": default_canonical_fingerprint()}), default_canonical_ids()
