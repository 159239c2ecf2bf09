"""Finding the PATH's python3 without running a pyenv shim (flowrun/scripts/interpreters.py `pyenv_target`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from flowrun.scripts.interpreters import default_python, probe, pyenv_target


@pytest.fixture
def pyenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pyenv root: a bash shim that would run `pyenv exec`, and two installed versions."""
    root = tmp_path / "pyenv"
    (root / "shims").mkdir(parents=True)
    shim = root / "shims" / "python3"
    shim.write_text("#!/usr/bin/env bash\nexit 97\n", encoding="utf-8")
    shim.chmod(0o755)
    for version in ("3.99.1", "3.98.0"):
        (root / "versions" / version / "bin").mkdir(parents=True)
        (root / "versions" / version / "bin" / "python3").symlink_to(sys.executable)
    (root / "version").write_text("3.99.1\n", encoding="utf-8")
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.delenv("PYENV_VERSION", raising=False)
    monkeypatch.delenv("PYENV_DIR", raising=False)
    return root


def _target(root: Path) -> str | None:
    return pyenv_target(str(root / "shims" / "python3"), "python3")


def test_the_global_version_file_names_the_interpreter(pyenv: Path) -> None:
    assert _target(pyenv) == str(pyenv / "versions" / "3.99.1" / "bin" / "python3")


def test_the_nearest_python_version_file_wins(pyenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (Path.cwd().parent / ".python-version").write_text("3.98.0  # the project's\n", encoding="utf-8")
    assert _target(pyenv) == str(pyenv / "versions" / "3.98.0" / "bin" / "python3")
    monkeypatch.setenv("PYENV_VERSION", "3.99.1")
    assert _target(pyenv) == str(pyenv / "versions" / "3.99.1" / "bin" / "python3")


@pytest.mark.parametrize("version", ["system", "3.98.0 3.99.1", "3.97.0", "3.98.0:3.99.1", "../../bin"])
def test_anything_unusual_is_left_to_the_shim(pyenv: Path, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setenv("PYENV_VERSION", version) if " " not in version else \
        (Path.cwd() / ".python-version").write_text(version.replace(" ", "\n"), encoding="utf-8")
    assert _target(pyenv) is None


def test_not_a_shim(pyenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pyenv_target(sys.executable, "python3") is None
    monkeypatch.setenv("PYENV_DIR", str(Path.cwd()))
    assert _target(pyenv) is None


def test_default_python_finds_the_shims_interpreter_without_running_the_shim(pyenv: Path) -> None:
    """The shim exits 97: had it been run, no interpreter would be found on that PATH."""
    found = default_python(str(pyenv / "shims") + os.pathsep + os.environ.get("PATH", ""))
    expected = probe(str(pyenv / "versions" / "3.99.1" / "bin" / "python3"))
    assert found is not None and found == expected
    assert found.version == ".".join(str(part) for part in sys.version_info[:3])
