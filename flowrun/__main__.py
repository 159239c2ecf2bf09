"""`python -m flowrun` entry point."""

from flowrun.cli import main

main()
