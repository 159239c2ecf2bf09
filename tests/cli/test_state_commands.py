"""`flowrun state migrate`, the choice of the state (`state:` / FLOWRUN_STATE) and its errors, on both backends."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import Project
from helpers import assert_clean_error
from pg_fixture import PgDatabase

from flowrun.state.migrations import MIGRATIONS

VERSIONS = [m.version for m in MIGRATIONS]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_migrate_applies_every_version_once_on_postgres(project: Project, pg_db: PgDatabase) -> None:
    env = {"FLOWRUN_STATE": pg_db.url}
    first = project.cli("state", "migrate", "--json", env=env)
    assert first.code == 0, first.stderr
    assert first.json() == {"state": pg_db.url, "backend": "postgresql", "applied": VERSIONS,
                            "migrations": len(VERSIONS)}
    again = project.cli("state", "migrate", env=env)
    assert again.code == 0 and "up to date" in again.stdout, again
    with pg_db.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM migrations ORDER BY version")] == VERSIONS
    assert not (project.home / "state.db").exists()


def test_migrate_on_the_embedded_sqlite_state(project: Project) -> None:
    first = project.cli("state", "migrate", "--json")
    assert first.code == 0 and first.json()["applied"] == VERSIONS and first.json()["backend"] == "sqlite"
    assert project.cli("state", "migrate", "--json").json()["applied"] == []


def test_the_configured_postgres_state_is_used(project: Project, pg_db: PgDatabase) -> None:
    project.config(f"state: {pg_db.url}\n")
    path = project.flow_file("control/replayed.yaml")
    assert project.cli("run", str(path)).code == 0
    assert pg_db.scalar("SELECT state FROM executions") == "SUCCESS"
    assert not (project.home / "state.db").exists()
    listed = project.cli("executions", "list", "--json")
    assert listed.code == 0 and [e["state"] for e in listed.json()] == ["SUCCESS"]


def test_an_unreachable_server_is_a_clear_error_naming_the_masked_url(project: Project) -> None:
    port = _free_port()
    url = f"postgresql://flowrun:hunter2@127.0.0.1:{port}/flowrun"
    path = project.flow_file("control/replayed.yaml")
    for args in (("run", str(path)), ("executions", "list"), ("state", "migrate"), ("tick",)):
        result = project.cli(*args, env={"FLOWRUN_STATE": url})
        assert_clean_error(result, 4, f"cannot reach the Postgres state postgresql://flowrun:***@127.0.0.1:{port}/"
                                      "flowrun", "Connection refused", "check that the server runs")
        assert "hunter2" not in result.stderr + result.stdout


def test_a_password_given_as_a_url_parameter_is_masked_too(project: Project) -> None:
    url = f"postgresql://flowrun@127.0.0.1:{_free_port()}/flowrun?sslmode=disable&password=hunter2"
    result = project.cli("executions", "list", env={"FLOWRUN_STATE": url})
    assert_clean_error(result, 4, "cannot reach the Postgres state", "?sslmode=disable&password=***")
    assert "hunter2" not in result.stderr + result.stdout


def test_a_missing_database_names_createdb(project: Project, pg_db: PgDatabase) -> None:
    url = pg_db.url + "_absent"
    result = project.cli("executions", "list", env={"FLOWRUN_STATE": url})
    assert_clean_error(result, 4, f"cannot reach the Postgres state {url}", "does not exist", "createdb")


def test_a_bad_state_url_is_a_usage_error(project: Project) -> None:
    for url, fragment in (("mysql://u@h/db", "FLOWRUN_STATE must be a postgresql:// URL"),
                          ("postgresql://u@127.0.0.1:notaport/db", "FLOWRUN_STATE is not a valid Postgres URL"),
                          ("postgresql://u:pw@127.0.0.1", "FLOWRUN_STATE names no database")):
        result = project.cli("executions", "list", env={"FLOWRUN_STATE": url})
        assert_clean_error(result, 2, fragment)
        assert ":pw@" not in result.stderr
    project.config("state: sqlite:///tmp/state.db\n")
    assert_clean_error(project.cli("executions", "list"), 3, "flowrun.yaml", "`state` must be a postgresql:// URL")


def test_a_run_on_the_sqlite_state_does_not_import_psycopg(project: Project) -> None:
    path = project.flow_file("control/replayed.yaml")
    probe = ("import sys\nfrom flowrun.app.run import RunOptions, run_flow\n"
             f"run_flow({str(path)!r}, RunOptions(home={str(project.home)!r}))\n"
             "print([m for m in ('psycopg', 'psycopg_pool') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=project.root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
