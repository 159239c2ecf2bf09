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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("helpers")

from helpers import flow_text  # noqa: E402

pytest_plugins = ["pg_fixture", "gcp_emulators", "fuzz.summary"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
COMPAT = SHARED / "compat"
ZOOMCAMP = COMPAT / "zoomcamp"
#: session- or module-scoped fixtures too costly to set up on every pytest-xdist worker: the tests that use one
#: share a worker (`--dist loadgroup`, see the Makefile); None groups them by test module
SHARED_FIXTURES: dict[str, str | None] = {"gcp_emulators": "gcp", "fuzz_project": "fuzz", "shared_state": None}


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests of a costly shared fixture on one xdist worker, and hand out the slow tests first.

    Every worker collects the same order, so the xdist scheduler starts the long tests (marked `slow`) while
    the many short ones fill the other workers, instead of finishing on one long test.
    """
    for item in items:
        group = _shared_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _shared_group(item: pytest.Item) -> str | None:
    """The xdist group of a test: its costly session fixture's, or its module's when it uses a module-scoped
    fixture (set up once per module, not once per worker that runs one of its tests); None for the others."""
    names = getattr(item, "fixturenames", ())
    for fixture, group in SHARED_FIXTURES.items():
        if fixture in names:
            return group or item.nodeid.split("::")[0]
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    if any(defs and defs[-1].scope == "module" for name, defs in definitions.items() if name in names):
        return item.nodeid.split("::")[0]
    return None


# -- the second state backend: tests marked `both_states` run again with FLOWRUN_STATE on a fresh Postgres -----
BOTH_STATES = "both_states"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{BOTH_STATES}: run the test on the embedded SQLite state, then again with "
                                       "FLOWRUN_STATE pointing at a fresh Postgres database (its own, per test)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker(BOTH_STATES) is not None:
        if "state_backend" not in metafunc.fixturenames:
            metafunc.fixturenames.append("state_backend")
        metafunc.parametrize("state_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def state_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                  tmp_path: Path) -> Iterator[str]:
    """The state this test runs on: SQLite, or (param `postgresql`) its own Postgres database via FLOWRUN_STATE,
    which the CLI subprocesses inherit. On Postgres, no SQLite state may appear (the rerun is a real one)."""
    backend = str(getattr(request, "param", "sqlite"))
    if backend == "postgresql":
        monkeypatch.setenv("FLOWRUN_STATE", request.getfixturevalue("pg_db").url)
    else:
        monkeypatch.delenv("FLOWRUN_STATE", raising=False)
    yield backend
    if backend == "postgresql":
        assert not list(tmp_path.rglob("state.db")), "a test on the Postgres state wrote an SQLite state"
