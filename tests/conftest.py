"""Shared fixtures: a throwaway project dir, running the real CLI, and the compat flows' location.

The shared assertion helpers live in tests/helpers.py (registered here for pytest's assert rewriting); the test
flows live in tests/flows/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("helpers")

from helpers import flow_text  # noqa: E402

pytest_plugins = ["pg_fixture", "gcp_emulators"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
COMPAT = SHARED / "compat"
ZOOMCAMP = COMPAT / "zoomcamp"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Project:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / ".flowrun"

    def flow(self, text: str, name: str = "flow.yaml") -> Path:
        path = self.root / "flows" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def flow_file(self, source: str, name: str = "flow.yaml", **values: Any) -> Path:
        """Write tests/flows/<source> as the project's flows/<name>, its `$key` placeholders filled from `values`."""
        return self.flow(flow_text(source, **values), name)

    def config(self, text: str) -> Path:
        path = self.root / "flowrun.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        full_env = {**os.environ, "FLOWRUN_HOME": str(self.home), **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "flowrun", *args], cwd=self.root, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def run(self, path: Path | str, inputs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run in-process through the API (faster than the CLI)."""
        from flowrun.app.run import RunOptions, run_flow

        options = RunOptions(inputs=inputs or {}, home=str(self.home), **kwargs)
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return run_flow(str(path), options)
        finally:
            os.chdir(cwd)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    (root / "flows").mkdir(parents=True)
    return Project(root)
