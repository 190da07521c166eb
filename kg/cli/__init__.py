"""``medkg`` command line: one typer app, one module per command group.

:mod:`~kg.cli.common` (the app, shared options, error reporting), :mod:`~kg.cli.graph` (build,
query, stats, export, schema...), :mod:`~kg.cli.knowledge` (load-curated), :mod:`~kg.cli.answers`
(interactions, diagnose, serve), :mod:`~kg.cli.batch` (extract, load), :mod:`~kg.cli.models`
(train, evaluate, linking). Each command is a thin wrapper over a plain function.
"""

from __future__ import annotations

import logging
import sys

# importing a module registers its commands; this order is the order of `medkg --help`
from kg.cli import graph, answers, models, batch, knowledge  # noqa: F401, I001
from kg.cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()
