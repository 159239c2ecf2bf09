"""JSON documents for scripts and editors: located problems, and the error that ended a `--json` command."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flowrun.errors import FlowrunError, InvalidFlowError, Problem


def problem_json(problem: Problem) -> dict[str, Any]:
    """A problem as `{file, line, column, path, message, severity}`; `path` is its place, e.g. tasks[2].sql."""
    return {"file": problem.file, "line": problem.line, "column": problem.column, "path": problem.where,
            "message": problem.message, "severity": problem.severity}


def error_json(exc: FlowrunError) -> dict[str, Any]:
    """The document a `--json` command prints on stdout when a FlowrunError ends it (nothing ran)."""
    error: dict[str, Any] = {"type": type(exc).__name__, "exitCode": int(exc.exit_code), "message": exc.message,
                             "hint": exc.hint}
    if isinstance(exc, InvalidFlowError):
        error["problems"] = [problem_json(p) for p in exc.problems]
    return {"error": error}


@contextmanager
def json_errors(enabled: bool) -> Iterator[None]:
    """With `--json`, a FlowrunError also prints its JSON document on stdout; it still ends the command."""
    try:
        yield
    except FlowrunError as exc:
        if enabled:
            sys.stdout.write(json.dumps(error_json(exc), indent=2, default=str) + "\n")
            sys.stdout.flush()
        raise
