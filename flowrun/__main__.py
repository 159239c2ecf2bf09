"""`python -m flowrun` entry point."""

from flowrun.cli import entry

entry()
