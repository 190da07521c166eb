"""``python -m kg.cli``: the ``medkg`` command."""

from kg.cli import main

main()
