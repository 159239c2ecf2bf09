"""Cached venvs: beforeCommands recognition, requirement keys, the seed flow's task, `venvs list|prune`."""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SHARED
from httpserver import LocalHTTPServer
from script_harness import run_task

from flowrun.scripts.before_commands import plan_venv
from flowrun.scripts.files import glob_to_regex
from flowrun.scripts.interpreters import image_python_version
from flowrun.scripts.venv_cache import list_venvs, prune_venvs
from flowrun.scripts.venvs import normalize_requirements

SEED = SHARED / "compat" / "seed"


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def test_plan_recognises_the_cacheable_forms(tmp_path: Path) -> None:
    (tmp_path / "req.txt").write_text("Requests>=2.0  # http\n-r more.txt\n")
    (tmp_path / "more.txt").write_text("six\n")
    plan = plan_venv(["python3 -m venv .venv  # make it", ". .venv/bin/activate",
                      "pip install -r req.txt", "python -m pip install -q 'idna==3.*'"], tmp_path)
    assert plan is not None
    assert plan.venv_dir == ".venv" and plan.seed and plan.served == [0, 2, 3]
    assert plan.requirements == ("idna==3.*", "requests>=2.0", "six")
    uv = plan_venv(["uv venv env", "source env/bin/activate", "pip3 install six"], tmp_path)
    assert uv is not None and not uv.seed


@pytest.mark.parametrize("lines", [
    ["python3 -m venv .venv", "pip install six"],                          # never activated
    ["python3 -m venv .venv", ". other/bin/activate", "pip install six"],  # another dir
    ["python3 -m venv .venv", ". .venv/bin/activate", "pip install six && echo hi"],
    ["python3 -m venv .venv", ". .venv/bin/activate", "pip install $PKG"],
    ["python3 -m venv .venv", ". .venv/bin/activate", "pip install requests>=2"],  # a redirect!
    ["python3 -m venv .venv", ". .venv/bin/activate", "pip install -e ."],
    ["python3 -m venv /tmp/elsewhere", ". /tmp/elsewhere/bin/activate"],
    ["python3 -m venv .venv", ". .venv/bin/activate", "pip install -r missing.txt"],
    ["apt-get install -y jq"],
])
def test_plan_refuses_anything_else(tmp_path: Path, lines: list[str]) -> None:
    assert plan_venv(lines, tmp_path) is None


def test_requirement_normalization() -> None:
    assert normalize_requirements(["Requests", "requests", "zope.interface [Foo, bar] >= 1 ", "# c", ""]) == (
        "requests", "zope-interface[bar,foo]>=1")
    assert normalize_requirements(["git+https://x/y.git"]) is None


def test_java_glob_semantics() -> None:
    assert glob_to_regex("*.csv").fullmatch("a.csv") and not glob_to_regex("*.csv").fullmatch("d/a.csv")
    assert glob_to_regex("**/*.csv").fullmatch("d/e/a.csv") and glob_to_regex("**/*.csv").fullmatch("a.csv")
    assert glob_to_regex("*.{csv,json}").fullmatch("x.json")
    assert glob_to_regex("data_[0-9].txt").fullmatch("data_7.txt")


def test_image_versions() -> None:
    assert image_python_version("python:3.11-slim") == "3.11"
    assert image_python_version("python:3.12.4-alpine") == "3.12"
    assert image_python_version("docker.io/library/python:3.10") == "3.10"
    assert image_python_version("python:slim") is None
    assert image_python_version("ghcr.io/kestra-io/pydata:latest") is None
    assert image_python_version("ubuntu:22.04") is None


def _seed_project(tmp_path: Path, url: str) -> Path:
    """A project holding the seed's namespace files, with the script's URL pointed at a local server
    (the only edit, as the compat rules allow)."""
    home = tmp_path / "project"
    shutil.copytree(SEED / "namespace_files", home / "namespace_files")
    script = home / "namespace_files" / "company.team" / "company.team" / "scripts" / "api_example.py"
    script.chmod(0o644)
    text = script.read_text()
    assert "https://api.github.com" in text
    script.write_text(text.replace("https://api.github.com", url))
    return home


def test_seed_task_runs_and_second_run_is_served_from_cache(tmp_path: Path, shared_state: Path) -> None:
    import yaml

    flow = yaml.safe_load((SEED / "hello-world.yaml").read_text())
    task = flow["tasks"][0]
    body = json.dumps({"stargazers_count": 4242}).encode()
    with LocalHTTPServer({"/repos/kestra-io/kestra": ("application/json", body)}) as srv:
        home = _seed_project(tmp_path, srv.base)
        times = []
        for _ in range(2):
            start = time.monotonic()
            a = run_task(task, home, namespace="company.team", state_dir=shared_state)
            times.append(time.monotonic() - start)
            assert a.error is None, (a.error, a.ctx.logger.lines)
            assert "4242" in a.ctx.logger.messages("INFO")
            assert any("served from the cache" in m for m in a.ctx.logger.messages("INFO"))
        assert srv.requests == ["/repos/kestra-io/kestra"] * 2
    assert times[1] <= 0.3 * times[0] or times[1] < 0.5, times


def test_activated_env_is_the_cached_venv(tmp_path: Path, shared_state: Path) -> None:
    a = run_task({"id": "t", "type": "io.kestra.plugin.scripts.shell.Commands",
                  "beforeCommands": ["python3 -m venv .venv", ". .venv/bin/activate", "pip install six"],
                  "commands": ["python -c 'import six, sys; print(sys.prefix != sys.base_prefix)'",
                               "test -L .venv && echo linked", "pip --version >/dev/null && echo has-pip",
                               "echo $VIRTUAL_ENV"]}, tmp_path, state_dir=shared_state)
    assert a.error is None, (a.error, a.ctx.logger.lines)
    info = a.ctx.logger.messages("INFO")
    first = info.index("True")  # after the venv's own lines: "built" or "served from the cache", by test order
    assert info[first:first + 3] == ["True", "linked", "has-pip"]
    assert info[first + 3].startswith(str(shared_state / "venvs"))


def test_venvs_list_and_prune(tmp_path: Path) -> None:
    state = tmp_path / "state"
    a = run_task({"id": "t", "type": "io.kestra.plugin.scripts.python.Script", "dependencies": ["six"],
                  "script": "import six"}, tmp_path, state_dir=state)
    assert a.error is None
    rows = list_venvs(state)
    assert len(rows) == 1 and rows[0]["requirements"] == ["six"] and rows[0]["ready"]
    assert rows[0]["python"] and rows[0]["sizeBytes"] > 0
    assert prune_venvs(state, timedelta(days=1)) == []
    assert prune_venvs(state) == [rows[0]["key"]]
    assert list_venvs(state) == []


def test_venvs_cli_lists_and_prunes(tmp_path: Path) -> None:
    import subprocess
    import sys

    state = tmp_path / "state"
    run_task({"id": "t", "type": "io.kestra.plugin.scripts.python.Script", "dependencies": ["six"],
              "script": "import six"}, tmp_path, state_dir=state)
    key = list_venvs(state)[0]["key"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flowrun", "venvs", *args, "--home", str(state)],
                              capture_output=True, text=True, cwd=tmp_path)

    listed = cli("list")
    assert listed.returncode == 0 and key in listed.stdout and "six" in listed.stdout
    kept = cli("prune", "--older-than", "P1D")
    assert kept.returncode == 0 and "removed 0" in kept.stdout
    pruned = cli("prune")
    assert pruned.returncode == 0 and "removed 1" in pruned.stdout
    assert cli("list").stdout.strip() == ""


def test_a_venv_build_is_announced_with_its_requirements_once(tmp_path: Path) -> None:
    """The live view shows this line beside the running task's spinner while the venv builds."""
    import sys

    from flowrun.scripts.interpreters import probe
    from flowrun.scripts.venvs import VenvSpec, ensure_venv

    interpreter = probe(sys.executable)
    assert interpreter is not None
    heard: list[str] = []
    spec = VenvSpec(interpreter, ())
    assert ensure_venv(tmp_path, spec, heard.append).built
    assert heard == [f"building venv {spec.key} for no requirements"]
    assert not ensure_venv(tmp_path, spec, heard.append).built and len(heard) == 1
