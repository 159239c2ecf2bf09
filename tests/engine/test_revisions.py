"""Flow revisions (issue 10 item 2): restart and replay say which flow they run, and --latest runs the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import CliResult, Project

RETURN = "io.kestra.plugin.core.debug.Return"
BROKEN = f"""
    id: fixme
    namespace: dev
    tasks:
      - id: first
        type: {RETURN}
        format: "{{{{ flow.revision }}}}"
      - id: second
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - exit 3
    """


def fixed(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace("exit 3", "exit 0"), encoding="utf-8")


def clean(result: CliResult) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def failed_run(project: Project) -> tuple[Path, str]:
    path = project.flow(BROKEN, "x.yaml")
    first = project.cli("run", str(path), "--json")
    assert first.code == 1, first.stderr
    assert first.json()["flowRevision"] == 1
    return path, first.json()["id"]


def test_restart_runs_the_stored_revision_and_says_the_file_changed(project: Project) -> None:
    path, execution_id = failed_run(project)
    fixed(path)
    again = project.cli("restart", execution_id, "--json")
    assert again.code == 1, "restart ran the fixed file, not the execution's revision"
    assert again.json()["flowRevision"] == 1
    notes = [line for line in again.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {path} changed since revision 1 (the file is now revision 2); restarting with "
                     "revision 1; use --latest to run the file"], again.stderr
    latest = project.cli("restart", execution_id, "--latest", "--json")
    assert latest.code == 0, latest.stderr
    doc = latest.json()
    assert doc["id"] == execution_id and doc["state"] == "SUCCESS" and doc["flowRevision"] == 2
    assert f"note: restarting with {path} as revision 2 (the execution ran revision 1)" in latest.stderr
    shown = project.cli("executions", "show", execution_id, "--json")
    assert shown.json()["flowRevision"] == 2, "--latest recorded the new revision on the execution"
    outputs = {tr["taskId"]: tr["outputs"] for tr in doc["taskRuns"]}
    assert outputs["first"]["value"] == "1", "the task that succeeded was reused, not run again"


def test_restart_latest_when_the_file_is_gone(project: Project) -> None:
    path, execution_id = failed_run(project)
    path.unlink()
    result = project.cli("restart", execution_id, "--latest")
    assert result.code == 2
    assert f"error: {path} no longer exists; --latest runs the flow file as it is now" in result.stderr
    assert "without --latest to use the execution's revision 1" in result.stderr
    clean(result)
    plain = project.cli("restart", execution_id)
    assert plain.code == 1 and f"note: {path} no longer exists; restarting with revision 1" in plain.stderr


def test_replay_with_a_revision_or_the_latest_file(project: Project) -> None:
    path, execution_id = failed_run(project)
    fixed(path)
    default = project.cli("replay", execution_id, "--from", "second", "--json")
    assert default.code == 1 and default.json()["flowRevision"] == 1
    assert (f"note: {path} changed since revision 1 (the file is now revision 2); replaying with revision 1; "
            "use --latest to run the file") in default.stderr
    chosen = project.cli("replay", execution_id, "--from", "second", "--revision", "2", "--json")
    assert chosen.code == 0, chosen.stderr
    assert chosen.json()["flowRevision"] == 2 and "note:" not in chosen.stderr
    old = project.cli("replay", execution_id, "--from", "second", "--revision", "1")
    assert old.code == 1 and f"note: {path} is revision 2; replaying with revision 1 as asked" in old.stderr
    latest = project.cli("replay", execution_id, "--from", "second", "--latest", "--json")
    assert latest.code == 0 and latest.json()["flowRevision"] == 2
    assert latest.json()["id"] != execution_id
    missing = project.cli("replay", execution_id, "--from", "second", "--revision", "9")
    assert missing.code == 2
    assert "error: flow dev/fixme has no revision 9" in missing.stderr and "its revisions are 1, 2" in missing.stderr
    clean(missing)
    both = project.cli("replay", execution_id, "--from", "second", "--revision", "1", "--latest")
    assert both.code == 2 and "--revision and --latest exclude each other" in both.stderr
    clean(both)


def test_flows_revisions_lists_each_distinct_source_once(project: Project) -> None:
    path = project.flow(f"""
        id: hello
        namespace: dev
        tasks:
          - id: say
            type: {RETURN}
            format: "rev {{{{ flow.revision }}}}"
        """)
    one, two = project.run(path), project.run(path)
    assert (one.flow_revision, two.flow_revision) == (1, 1), "an unchanged file made a new revision"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "description: changed\n", encoding="utf-8")
    three = project.run(path)
    assert three.flow_revision == 2 and three.task_runs[0].outputs["value"] == "rev 2"
    listing = project.cli("flows", "revisions", str(path), "--json")
    assert listing.code == 0, listing.stderr
    data = listing.json()
    assert data["fileRevision"] == 2
    assert [(r["revision"], r["executions"]) for r in data["revisions"]] == [(1, [one.id, two.id]), (2, [three.id])]
    assert all(len(r["hash"]) == 64 and r["created"] for r in data["revisions"])
    text = project.cli("flows", "revisions", "dev/hello")
    assert text.code == 0 and f"({path} is revision 2)" in text.stdout
    assert f"{one.id}, {two.id}" in text.stdout and three.id in text.stdout
    assert project.cli("flows", "revisions", "dev/hello", "--show", "1").stdout == original
    unknown = project.cli("flows", "revisions", "dev/nope")
    assert unknown.code == 2 and "error: no revisions of flow dev/nope" in unknown.stderr
    clean(unknown)
    shown = project.cli("executions", "show", one.id, "--revision")
    assert shown.code == 0 and shown.stdout == original and "revision 1" in shown.stderr


def test_executions_recorded_before_revisions_get_them_oldest_first(project: Project) -> None:
    from flowrun.state.db import MIGRATIONS

    project.home.mkdir(parents=True)
    sources = ["id: old\nnamespace: dev\ntasks: [{id: a, type: " + RETURN + ", format: x}]\n",
               "id: old\nnamespace: dev\ntasks: [{id: a, type: " + RETURN + ", format: y}]\n"]
    conn = sqlite3.connect(project.home / "state.db")
    conn.execute("CREATE TABLE migrations (version TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for migration in MIGRATIONS[:2]:
        for statement in migration.statements("sqlite"):
            conn.execute(statement)
        conn.execute("INSERT INTO migrations VALUES (?, 0)", (migration.version,))
    for execution_id, created, source in (("e1", "2024-01-01", sources[0]), ("e2", "2024-02-01", sources[1]),
                                          ("e3", "2024-03-01", sources[0])):
        conn.execute("INSERT INTO executions (id, namespace, flow_id, state, created_at, start_date, flow_source) "
                     "VALUES (?, 'dev', 'old', 'SUCCESS', ?, ?, ?)", (execution_id, created, created, source))
    conn.commit()
    conn.close()
    assert project.cli("executions", "show", "e2", "--json").json()["flowRevision"] == 2
    data = project.cli("flows", "revisions", "dev/old", "--json").json()
    assert [(r["revision"], r["executions"], r["created"]) for r in data["revisions"]] == [
        (1, ["e1", "e3"], "2024-01-01"), (2, ["e2"], "2024-02-01")]
    path = project.flow(sources[1], "old.yaml")
    assert project.run(path).flow_revision == 2, "a new run of a backfilled source reuses its revision"
