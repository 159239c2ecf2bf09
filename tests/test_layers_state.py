"""The state layer: only `flowrun/state/` touches flowrun's own state DB (no sqlite3, no SQL, no connection elsewhere)."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from flowrun.state.migrations import BOOTSTRAP, MIGRATIONS

PACKAGE = Path(__file__).resolve().parent.parent / "flowrun"
STATE = PACKAGE / "state"
#: modules that run the users' own SQL (their databases, not flowrun's state): the rules do not apply
USER_SQL = ("tasks/postgres.py", "tasks/duckdb.py", "tasks/bigquery.py", "jdbc/", "gcp/")
#: what a call on a database handle looks like: handle.execute(...), services.db.query(...), db.write()...
DB_METHODS = {"execute", "executemany", "executescript", "query", "query_one", "write", "cursor", "commit",
              "rollback"}
DB_NAMES = {"db", "conn", "connection", "cursor", "cur", "database", "sqlite", "store", "state_db"}
SQL_WORDS = r"(?:FROM|INTO|UPDATE|JOIN|TABLE|EXISTS)"


def _state_tables() -> set[str]:
    scripts = [m.sql for m in MIGRATIONS] + [s for m in MIGRATIONS for s in m.per_backend.values()] + list(BOOTSTRAP)
    return {name for script in scripts
            for name in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", script)}


STATE_SQL = re.compile(rf"\b{SQL_WORDS}\s+\"?({'|'.join(sorted(_state_tables()))})\b\"?")


def _receiver(node: ast.expr) -> str | None:
    """The last name of what a method is called on: `db` for db.x(), services.db.x() and ctx.services().db.x()."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_db_name(name: str | None) -> bool:
    return name is not None and (name.lower() in DB_NAMES or name.lower().endswith(("_db", "_conn")))


def violations(source: str, where: str) -> list[str]:
    """Every way `source` reaches flowrun's state DB directly, as `where:line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "sqlite3"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append(f"{where}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DB_METHODS \
                and _is_db_name(_receiver(node.func.value)):
            found.append(f"{where}:{node.lineno}: {ast.unparse(node.func)}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "conn" and _is_db_name(_receiver(node.value)):
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and STATE_SQL.search(node.value):
            found.append(f"{where}:{node.lineno}: SQL on a state table: {STATE_SQL.search(node.value)[0]!r}")
    return sorted(found, key=lambda text: int(text.split(":")[1]))


def _outside_state() -> list[Path]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.is_relative_to(STATE) or relative.startswith(USER_SQL):
            continue
        files.append(path)
    return files


def test_no_module_outside_flowrun_state_touches_the_state_db() -> None:
    found = []
    for path in _outside_state():
        found += violations(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert found == []


def test_the_rule_covers_the_whole_package_and_the_user_sql_modules_exist() -> None:
    checked = _outside_state()
    assert len(checked) > 100  # everything but state/ and the user-SQL modules
    assert {"app", "cli", "engine", "schedule", "storage", "tasks"} <= {p.relative_to(PACKAGE).parts[0] for p in checked}
    for exempt in USER_SQL:
        assert (PACKAGE / exempt).exists(), f"{exempt} is exempt but does not exist: update USER_SQL"
    assert {"executions", "task_runs", "logs", "kv", "schedule_claims", "trigger_state", "backfills",
            "flow_revisions", "task_processes", "migrations", "meta"} <= _state_tables()


def test_the_rule_catches_each_way_of_reaching_the_db() -> None:
    source = textwrap.dedent('''
        import sqlite3
        from sqlite3 import Row
        def f(services, db, conn, ctx, project_db):
            db.query("SELECT 1")
            services.db.query_one("x")
            ctx.services().db.write()
            conn.execute("x")
            project_db.executemany("x", [])
            rows = db.conn
            text = f"DELETE FROM kv WHERE namespace = {1}"
            other = "SELECT * FROM schedule_claims"
    ''')
    found = violations(source, "m.py")
    assert [line.split(":")[1] for line in found] == ["2", "3", "5", "6", "7", "8", "9", "10", "11", "12"]
    assert "SQL on a state table: 'FROM kv'" in found[-2] and "'FROM schedule_claims'" in found[-1]


def test_the_rule_leaves_ordinary_code_alone() -> None:
    source = textwrap.dedent('''
        def f(task, handle, client, storage):
            task.execute(None, None, None)
            super().execute(1)
            handle.write("SELECT * FROM somewhere_else")
            client.query("SELECT * FROM `project.dataset.logs_copy`")
            storage.write("uri", b"")
            note = "read the logs from the executions list"
    ''')
    assert violations(source, "m.py") == []
