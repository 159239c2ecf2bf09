"""Run the SQL tasks through a real RunContext (storage, templating, working dirs) without the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from script_harness import Attempt, HarnessContext, run_task

PG = "io.kestra.plugin.jdbc.postgresql"
DUCK = "io.kestra.plugin.jdbc.duckdb"

__all__ = ["Attempt", "HarnessContext", "run_task", "run_ok", "run_fail", "stored_file", "PG", "DUCK"]


def run_ok(task_def: dict[str, Any], home: Path, **ctx_args: Any) -> Attempt:
    """Run one attempt and insist it succeeded."""
    attempt = run_task(task_def, home, **ctx_args)
    assert attempt.error is None, f"{task_def['id']} failed: {attempt.error}"
    return attempt


def run_fail(task_def: dict[str, Any], home: Path, **ctx_args: Any) -> Attempt:
    """Run one attempt and insist it failed."""
    attempt = run_task(task_def, home, **ctx_args)
    assert attempt.error is not None, f"{task_def['id']} unexpectedly succeeded: {attempt.outputs}"
    return attempt


def stored_file(home: Path, content: bytes, name: str = "data.csv", **ctx_args: Any) -> str:
    """Put `content` into the execution's storage as an upstream task would; returns its kestra:// URI."""
    return HarnessContext(home=home, **ctx_args).put_execution_file(name, content)
