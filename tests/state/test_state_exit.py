"""flowrun's exit closes the state's SQLite connections without crashing under a thread that still uses one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from conftest import Project

#: a daemon thread reads the state DB without pause while the main thread runs the exit's close, over and over;
#: closing a connection under another thread's statement crashed CPython's sqlite3 (stop 22's CI: a `tick`
#: died of SIGSEGV at exit, its heartbeat thread mid-beat)
HAMMER = textwrap.dedent("""
    import os, sqlite3, sys, threading
    from pathlib import Path
    from flowrun.state import db as state_db

    store = state_db.Database(Path(sys.argv[1]))
    busy, closed_under_it = threading.Event(), []

    def hammer():
        while True:
            try:
                store.conn.execute("SELECT count(*) FROM executions").fetchall()
            except sqlite3.ProgrammingError:
                closed_under_it.append(1)
                store._local.conn = None
            busy.set()

    threading.Thread(target=hammer, daemon=True).start()
    busy.wait()
    for _ in range(2000):
        store.conn.execute("SELECT 1")
        state_db._close_all()
        store._local.conn = None
    print(len(closed_under_it))
    sys.stdout.flush()
    os._exit(0)
""")


def test_the_exit_close_leaves_a_running_threads_connection_alone(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", HAMMER, str(tmp_path / "state.db")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0", "a live thread's connection was closed under it"


FLOW = {"id": "beats", "namespace": "exit", "tasks": [
    {"id": "wait", "type": "io.kestra.plugin.core.flow.Sleep", "duration": "PT0.5S"},
    {"id": "log", "type": "io.kestra.plugin.core.log.Log", "message": "done"}]}

#: `flowrun run` with a heartbeat every 10 ms, so that the exit lands while the heartbeat thread beats
BEATING_RUN = textwrap.dedent("""
    import sys
    import flowrun.state.store as store
    store.HEARTBEAT_SECONDS = 0.01
    sys.argv = ["flowrun", "run", sys.argv[1]]
    from flowrun.cli import entry
    entry()
""")


def test_a_run_stops_its_state_threads_before_closing_so_the_wal_is_folded(project: Project) -> None:
    """The heartbeat and write-behind threads end before the connections close, so every connection closes
    and the last one folds the WAL into state.db."""
    path = project.flow(yaml.safe_dump(FLOW), "beats.yaml")
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", BEATING_RUN, str(path)], cwd=project.root, text=True,
                              env={**os.environ, "FLOWRUN_HOME": str(project.home), "PYTHONFAULTHANDLER": "1"},
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert not (project.home / "state.db-wal").exists()
    assert project.cli("executions", "list").stdout.count("SUCCESS") == 3
