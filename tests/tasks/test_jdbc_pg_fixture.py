"""The Postgres test fixture starts a throwaway cluster when no server answers (it never skips)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]  # tests/


@pytest.mark.slow
def test_throwaway_cluster_when_no_server_answers(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(
        "from pg_fixture import *  # noqa: F403\n"
        "def test_probe(pg_db):\n"
        "    assert pg_db.scalar('SELECT 41 + 1') == 42\n"
        "    assert pg_db.server.port != 5432\n")
    env = {**os.environ, "FLOWRUN_TEST_PGPORT": "1", "PYTHONPATH": str(HERE)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_probe.py")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
