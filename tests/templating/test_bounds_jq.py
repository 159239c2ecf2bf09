"""Issue 11 items 1-2: jq sees no environment, and a runaway jq program is stopped without hurting flowrun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Project

from flowrun.templating import TemplateError, jq_runner, render
from flowrun.templating.limits import bounded

LOG = "io.kestra.plugin.core.log.Log"
SECRET_ENV = {"SECRET_X": "aHVudGVyMg==", "OTHER_TOKEN": "tok-5f3a9e"}  # base64 of "hunter2"


def _clean(out: str) -> None:
    assert "Traceback" not in out and "internal error" not in out, out


def _one_task(project: Project, message: str, extra: str = "") -> Path:
    return project.flow(f"id: f\nnamespace: t\ntasks:\n  - id: a\n    type: {LOG}\n{extra}"
                        f"    message: \"{message}\"\n")


def _last_logs(project: Project) -> str:
    listed = project.cli("executions", "list", "--json")
    return project.cli("logs", listed.json()[0]["id"]).stdout


# -- item 1: no environment -------------------------------------------------------------------------------
def test_jq_sees_an_empty_environment(project: Project) -> None:
    result = project.cli("render", "{{ 1 | jq('env') }}|{{ 1 | jq('$ENV') }}|{{ 1 | jq('env.SECRET_X') }}"
                         "|{{ 1 | jq('$__loc__') }}", env=SECRET_ENV)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == '[{}]|[{}]|[null]|[{"file":"<top-level>","line":1}]'
    for value in (*SECRET_ENV.values(), "hunter2", "OTHER_TOKEN", "SECRET_X", "PATH"):
        assert value not in result.stdout + result.stderr


def test_jq_env_leaks_nothing_into_task_logs(project: Project) -> None:
    path = _one_task(project, "{{ 1 | jq('env') }} {{ 1 | jq('[$ENV[]] | length') }}")
    result = project.cli("run", str(path), env=SECRET_ENV)
    assert result.code == 0, result.stderr
    logs = _last_logs(project)
    assert "[{}] [0]" in logs
    for value in (*SECRET_ENV.values(), "hunter2", "OTHER_TOKEN", "SECRET_X"):
        assert value not in logs and value not in result.stdout


def test_jq_cannot_import_json_files_from_the_working_dir(project: Project) -> None:
    (project.root / "data.json").write_text('{"secret": 42}', encoding="utf-8")
    result = project.cli("render", "{{ 1 | jq('import \"data\" as $d; $d') }}")
    assert result.code == 3
    assert "module not found" in result.stderr and "42" not in result.stdout
    _clean(result.stderr)


# -- item 2: bounded --------------------------------------------------------------------------------------
def test_endless_jq_fails_the_task_at_its_timeout(project: Project) -> None:
    path = _one_task(project, "{{ 1 | jq('def f: f; f') }}", "    timeout: PT1S\n")
    started = time.monotonic()
    result = project.cli("run", str(path), timeout=30)
    assert time.monotonic() - started < 20
    assert result.code == 1
    assert "timed out after PT1S" in result.stdout + result.stderr
    _clean(result.stdout + result.stderr)


def test_endless_jq_without_task_timeout_stops_at_the_jq_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jq_runner, "JQ_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"The jq program `def f: f; f` ran longer than 0.5s and was stopped"):
        render("{{ 1 | jq('def f: f; f') }}", {})
    assert time.monotonic() - started < 15
    assert render("{{ [1, 2] | jq('add') }}", {}) == "[3]"  # the next call gets a fresh worker


def test_a_crashing_jq_program_is_a_clear_error_and_flowrun_survives(monkeypatch: pytest.MonkeyPatch) -> None:
    jq_runner._POOL.close()
    monkeypatch.setattr(jq_runner, "JQ_MEMORY_BYTES", 256 * 1024 * 1024)  # crash sooner than with 1 GiB
    with pytest.raises(TemplateError, match=r"jq stopped: its process was killed by SIG\w+; the program may "
                                            r"recurse without end or need more than 256 MiB of memory"):
        render("{{ 1 | jq('def f: [f]; f') }}", {})
    assert render("{{ {'a': [1, 2]} | jq('.a | length') }}", {}) == "[2]"
    jq_runner._POOL.close()  # later tests get workers with the normal memory cap


def test_task_cancel_flag_stops_a_running_jq_call() -> None:
    import threading

    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    from flowrun.errors import TaskKilled

    with bounded(cancel, None), pytest.raises(TaskKilled):
        render("{{ 1 | jq('def f: f; f') }}", {})
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("command", "sig", "code"), [
    ("render", signal.SIGINT, 130),  # Ctrl-C
    ("run", signal.SIGTERM, 1),  # the execution ends KILLED
    ("render", signal.SIGKILL, -9),  # the kernel kills the worker with flowrun (PR_SET_PDEATHSIG)
])
def test_signals_stop_flowrun_and_its_jq_worker(project: Project, command: str, sig: int, code: int) -> None:
    path = _one_task(project, "{{ 1 | jq('def f: f; f') }}")
    args = [str(path)] if command == "run" else ["{{ 1 | jq('def f: f; f') }}"]
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", command, *args],
                            cwd=project.root, env={**os.environ, "FLOWRUN_HOME": str(project.home)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        workers: list[str] = []
        deadline = time.monotonic() + 10
        while not workers and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert workers, "the jq worker never started"
        time.sleep(0.3)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=5)
    finally:
        proc.kill()  # never leave a spinning flowrun behind a failed test
        proc.wait()
    assert proc.returncode == code
    assert "Traceback" not in out + err
    if command == "run":
        assert "KILLED" in out
    time.sleep(0.3)
    assert not any(_running(pid) for pid in workers), "the jq worker outlived flowrun"


def _running(pid: str) -> bool:
    """The process exists and is not a zombie waiting for its new parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_jq_results_and_per_call_cost() -> None:
    assert render("{{ {'a': [1, 2, 3]} | jq('.a[] | select(. > 1)') }}", {}) == "[2,3]"
    assert render("{{ '{\"k\": \"v\"}' | jq('.k') | first }}", {}) == "v"
    with pytest.raises(TemplateError, match="Failed to resolve JQ expression 'nope\\(' "):
        render("{{ 1 | jq('nope(') }}", {})
    render("{{ 1 | jq('.') }}", {})  # the worker is started once
    started = time.monotonic()
    out = render("{% for i in 1..300 %}{{ [i] | jq('.[0]') | first }},{% endfor %}", {})
    elapsed = time.monotonic() - started
    assert out.split(",")[:3] == ["1", "2", "3"]
    assert elapsed < 15, f"300 jq calls took {elapsed:.2f}s"  # about 0.1-0.3 ms each on 2 busy cores
