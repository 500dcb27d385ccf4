"""The command line: ``tasktronaut run``, ``show``, ``graph`` and ``state``, thin over the
library. ``tasktronaut.cli:main`` is the console entry point."""

from tasktronaut.cli.commands import cli, main

__all__ = ["cli", "main"]
