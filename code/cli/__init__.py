"""The ``mlpkit`` command (being split into one module per command; for now all of it is in ``train``)."""

from mlpkit.cli.train import build_parser, main

__all__ = ["build_parser", "main"]
