"""Run the command line as ``python -m booklet``."""

from booklet.cli import run

run()
