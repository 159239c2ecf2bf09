"""The program pauses garbage collection while it loads, and every command resumes it (flowrun/cli/startup.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowrun.cli import startup

#: runs the program (`entry`) and says at exit whether collection was on, and how much start-up froze
PROBE = ("import atexit, gc, sys\n"
         "atexit.register(lambda: print('GC', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr))\n"
         "sys.argv = ['flowrun', *sys.argv[1:]]\nfrom flowrun.cli import entry\nentry()\n")
FLOW = "id: hello\nnamespace: gc\ntasks:\n  - id: hi\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@pytest.mark.parametrize("argv", [["run", "flows/hello.yaml"], ["tick", "--now", "2019-01-01T00:00:00Z"],
                                  ["executions", "list"]], ids=["run", "tick", "typer command"])
def test_every_command_collects_again_once_loaded(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.yaml").write_text(FLOW, encoding="utf-8")
    env = {**os.environ, "FLOWRUN_HOME": str(tmp_path / "home")}
    for _ in range(2):  # the second run of the flow is the cached one
        done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "GC True True" in done.stderr, done.stderr


def test_a_caller_that_turned_collection_off_keeps_it_off() -> None:
    gc.disable()
    try:
        startup.pause_collection()
        startup.resume_collection()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_in_process_callers_are_never_paused() -> None:
    """`main()` (what tests and library callers use) leaves the collector alone; only `entry()` pauses it."""
    from typer.testing import CliRunner

    from flowrun.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert gc.isenabled()
