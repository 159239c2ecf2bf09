"""Helpers shared by the schedule tests: the CLI with the schedule commands, flows and state queries."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import CliResult, Project

# The real CLI as `python -c` (the schedule commands are part of flowrun.cli).
CLI_SHIM = "from flowrun.cli import main\nmain()\n"
RETURN_TASK = """
tasks:
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date ?? 'manual' }}"
"""


def covers(*names: str) -> Callable[[Any], Any]:
    """Mark a test as covering trigger or condition types (checked by test_schedule_registry)."""

    def mark(test: Any) -> Any:
        test.covers = names
        return test

    return mark


def cli_command(project: Project, *args: str) -> list[str]:
    return [sys.executable, "-c", CLI_SHIM, *args]


def env(project: Project) -> dict[str, str]:
    return {**os.environ, "FLOWRUN_HOME": str(project.home)}


def cli(project: Project, *args: str, timeout: float = 120) -> CliResult:
    proc = subprocess.run(cli_command(project, *args), cwd=project.root, env=env(project), capture_output=True,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def schedule_flow(project: Project, flow_id: str, triggers: str, tasks: str = RETURN_TASK,
                  extra: str = "") -> Path:
    text = f"id: {flow_id}\nnamespace: sched\n{extra}{tasks}\ntriggers:\n{triggers}"
    path = project.root / "flows" / f"{flow_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def db_rows(project: Project, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows of the project's state: its SQLite file, or the Postgres database FLOWRUN_STATE names."""
    if os.environ.get("FLOWRUN_STATE"):
        import psycopg
        from psycopg.rows import dict_row

        from flowrun.state.pg_sql import translate

        with psycopg.connect(os.environ["FLOWRUN_STATE"], row_factory=dict_row) as pg:
            return pg.execute(translate(sql), params).fetchall()
    conn = sqlite3.connect(project.home / "state.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def executions(project: Project, flow_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM executions" + (" WHERE flow_id = ?" if flow_id else "") + " ORDER BY created_at, rowid"
    result = []
    for row in db_rows(project, sql, (flow_id,) if flow_id else ()):
        item = dict(row)
        item["trigger"] = json.loads(row["trigger"]) if row["trigger"] else None
        item["labels"] = {entry["key"]: entry["value"] for entry in json.loads(row["labels"])}
        result.append(item)
    return result


def trigger_dates(project: Project, flow_id: str) -> list[str]:
    return sorted(e["trigger"]["date"] for e in executions(project, flow_id) if e["trigger"])


def in_project(project: Project) -> Any:
    """A context manager that chdirs into the project (for in-process API calls)."""
    from contextlib import contextmanager

    @contextmanager
    def chdir() -> Any:
        cwd = os.getcwd()
        os.chdir(project.root)
        try:
            yield
        finally:
            os.chdir(cwd)

    return chdir()


def test_cli_shim_registers_the_schedule_commands(project: Project) -> None:
    result = cli(project, "--help")
    assert result.code == 0, result.stderr
    for command in ("backfill", "tick", "schedule"):
        assert command in result.stdout
    for args in (("backfill", "--help"), ("tick", "--help"), ("schedule", "list", "--help"),
                 ("schedule", "cron", "--help")):
        assert "Example:" in cli(project, *args).stdout
