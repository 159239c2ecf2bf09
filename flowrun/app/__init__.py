"""Use cases: each one function a CLI command, a web handler or a worker calls (run, continue, backfill, tick, inspect)."""
