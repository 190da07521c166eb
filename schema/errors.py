"""The one error root of the project: every package's errors derive from :class:`MedkgError`,
so a caller (the CLI, the API) can catch everything medkg raises on purpose in one place while
each package keeps its own specific subclasses (that also inherit builtins where natural)."""

from __future__ import annotations


class MedkgError(Exception):
    """Root of every error medkg raises on purpose."""
