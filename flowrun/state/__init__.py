"""Persistent state: executions, task runs, logs, outputs, labels and KV in SQLite."""
