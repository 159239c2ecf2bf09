"""Helpers for the purge tests: real executions of small flows, aged by rewriting their recorded dates."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import Project

from flowrun.app.inspect import list_executions

LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
FAIL = "io.kestra.plugin.core.execution.Fail"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def small_flow(project: Project, flow_id: str, namespace: str, fail: bool = False) -> Path:
    """A flow that logs at INFO and ERROR, returns a value (a task output and two metrics), and may fail."""
    failing = f"  - id: boom\n    type: {FAIL}\n" if fail else ""
    return project.flow(
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
        f"  - id: say\n    type: {LOG}\n    message: hello from {flow_id}\n"
        f"  - id: shout\n    type: {LOG}\n    level: ERROR\n    message: loud {flow_id}\n"
        f"  - id: value\n    type: {RETURN}\n    format: v\n" + failing, f"{namespace}.{flow_id}.yaml")


def run(project: Project, path: Path) -> Any:
    return project.run(path)


def age(project: Project, execution_id: str, ended: datetime) -> None:
    """Make an execution look as if it ran 1 s before `ended` and ended then (its log lines too)."""
    start = stamp(ended - timedelta(seconds=1))
    with sqlite3.connect(project.home / "state.db") as conn:
        conn.execute("UPDATE executions SET created_at = ?, start_date = ?, end_date = ? WHERE id = ?",
                     (start, start, stamp(ended), execution_id))
        conn.execute("UPDATE logs SET timestamp = ? WHERE execution_id = ?", (start, execution_id))


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def execution_ids(project: Project) -> set[str]:
    return {row["id"] for row in list_executions(str(project.home), None, None, 10_000)}


def states_by_id(project: Project) -> dict[str, str]:
    return {row["id"]: row["state"] for row in list_executions(str(project.home), None, None, 10_000)}


def log_count(project: Project, execution_id: str) -> int:
    with sqlite3.connect(project.home / "state.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM logs WHERE execution_id = ?", (execution_id,)).fetchone()[0])


def add_file(project: Project, namespace: str, flow_id: str, execution_id: str) -> Path:
    """A file in the execution's internal-storage prefix, as a task output file would be."""
    folder = project.home / "storage" / namespace.replace(".", "/") / flow_id / "executions" / execution_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "out.txt"
    path.write_text("data", encoding="utf-8")
    return path
