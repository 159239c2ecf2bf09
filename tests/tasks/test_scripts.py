"""Script tasks through a real RunContext harness: files, protocol, env, timeouts, interpreters, venvs."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from script_harness import HarnessContext, run_task

from flowrun.errors import TaskError, TaskKilled
from flowrun.tasks.registry import ALIASES, SCRIPTS, task_class

SHELL = f"{SCRIPTS}.shell.Commands"
PY_SCRIPT = f"{SCRIPTS}.python.Script"


@pytest.fixture(scope="session")
def shared_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One state dir for the session, so each cached venv is built once."""
    return tmp_path_factory.mktemp("state")


def test_protocol_lines_become_outputs_metrics_and_logs(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL, "commands": [
        "echo plain",
        "echo oops >&2",
        """echo '::{"outputs": {"a": 1, "b": "x"}}::'""",
        """echo '::{"outputs": {"b": "y"}, "metrics": [{"name": "rows", "type": "counter", "value": 3,
        "tags": {"t": "1"}}]}::'""".replace("\n        ", " "),
        """echo '::{"logs": [{"level": "WARN", "message": "careful"}]}::'""",
        """echo '::{"logs": [{"level": "ERROR", "message": "from stderr"}]}::' >&2""",
        "echo '::{not json}::'",
    ]}, tmp_path)
    assert a.error is None
    assert a.outputs == {"exitCode": 0, "vars": {"a": 1, "b": "y"}, "outputFiles": {}}
    assert a.ctx.metrics == [("rows", "counter", 3.0, {"t": "1"})]
    lines = a.ctx.logger.lines
    assert ("INFO", "plain") in lines and ("ERROR", "oops") in lines
    assert ("WARN", "careful") in lines and ("ERROR", "from stderr") in lines
    assert not any("outputs" in m and "::" in m for _, m in lines)
    assert any(lv == "WARN" and "invalid JSON" in m for lv, m in lines)


def test_failure_keeps_outputs_and_carries_evidence(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL, "outputFiles": ["out.txt"], "commands": [
        """echo '::{"outputs": {"seen": true}}::'""", "echo partial > out.txt", "echo bad thing >&2", "exit 3",
    ]}, tmp_path)
    assert isinstance(a.error, TaskError)
    assert "exit code 3" in a.error.message and "bad thing" in a.error.message
    ev = a.error.evidence
    assert ev["exitCode"] == 3 and ev["stderrTail"] == ["bad thing"] and "exit 3" in ev["command"]
    assert ev["workingDir"] and ev["interpreter"] == ["/bin/sh", "-c"]
    assert a.outputs is not None
    assert a.outputs["exitCode"] == 3 and a.outputs["vars"] == {"seen": True}
    assert list(a.outputs["outputFiles"]) == ["out.txt"]


def test_input_and_output_files_round_trip(tmp_path: Path) -> None:
    ctx = HarnessContext(home=tmp_path, task_id="t")
    uri = ctx.put_execution_file("data.csv", b"a,b\n1,2\n")
    ctx.variables = {"outputs": {"up": {"uri": uri}}}
    a = run_task({"id": "t", "type": SHELL,
                  "inputFiles": {"in/data.csv": "{{ outputs.up.uri }}", "inline.txt": "hello {{ 1 + 1 }}"},
                  "outputFiles": ["*.txt", "**/*.csv", "glob:deep/**", "regex:r[0-9]\\.log"],
                  "commands": [
                      "test \"$WORKING_DIR\" = \"{{ workingDir }}\" && test \"$PWD\" = \"{{ workingDir }}\"",
                      "cat inline.txt > copy.txt", "mkdir -p sub deep/er && cp in/data.csv sub/x.csv",
                      "echo n > deep/er/n.bin", "echo r > r1.log", "echo no > sub/skipped.txt",
                  ]}, tmp_path, ctx=ctx)
    assert a.error is None, a.error
    files = a.outputs["outputFiles"] if a.outputs else {}
    assert sorted(files) == ["copy.txt", "deep/er/n.bin", "in/data.csv", "inline.txt", "r1.log", "sub/x.csv"]
    assert ctx.internal.local_path(files["copy.txt"]).read_text() == "hello 2"
    assert ctx.internal.local_path(files["sub/x.csv"]).read_bytes() == b"a,b\n1,2\n"
    assert all(u.startswith("kestra:///company/team/test-flow/executions/exec1/tasks/t/") for u in files.values())


def test_output_files_outside_or_through_symlinks_are_warned_by_pattern(tmp_path: Path) -> None:
    secret_dir = tmp_path / "elsewhere"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("not for upload")
    a = run_task({"id": "t", "type": SHELL,
                  "outputFiles": ["*.txt", "../secret.txt", f"{secret_dir}/secret.txt", "linked/*.txt",
                                  "./kept.csv"],
                  "commands": ["echo ok > real.txt", "echo csv > kept.csv",
                               f"ln -s {secret_dir}/secret.txt link.txt", f"ln -s {secret_dir} linked"]},
                 tmp_path)
    assert a.error is None, a.error
    files = a.outputs["outputFiles"] if a.outputs else {}
    assert sorted(files) == ["kept.csv", "real.txt"]
    warnings = a.ctx.logger.messages("WARN")
    assert any("pattern `../secret.txt` points outside the working directory" in w for w in warnings), warnings
    assert any(f"pattern `{secret_dir}/secret.txt` points outside the working directory" in w for w in warnings)
    assert any("pattern `*.txt` matches `link.txt`, a symlink; symlinks are not uploaded" in w for w in warnings)
    assert any("pattern `linked/*.txt` may match files under `linked`, a symlinked directory" in w
               for w in warnings), warnings
    assert len(warnings) == 4, warnings


def test_input_files_as_json_string_and_uris_in_commands(tmp_path: Path) -> None:
    ctx = HarnessContext(home=tmp_path, task_id="t")
    uri = ctx.put_execution_file("report.txt", b"from storage\n")
    ctx.variables = {"u": uri}
    a = run_task({"id": "t", "type": f"{SCRIPTS}.shell.Script",
                  "inputFiles": '{"a.txt": "A\\n"}',
                  "script": "cat a.txt\ncat {{ u }}\necho {{ u }} | grep -q '^/' && echo local-path"}, tmp_path, ctx=ctx)
    assert a.error is None, a.error
    assert a.ctx.logger.messages("INFO") == ["A", "from storage", "local-path"]


def test_namespace_files_include_exclude(tmp_path: Path) -> None:
    ns = tmp_path / "namespace_files" / "company.team"
    for rel in ("scripts/a.py", "scripts/b.sql", "scripts/test_a.py", "README.md"):
        (ns / rel).parent.mkdir(parents=True, exist_ok=True)
        (ns / rel).write_text(rel)
    a = run_task({"id": "t", "type": SHELL, "namespaceFiles": {"enabled": True, "include": ["scripts/**"],
                                                               "exclude": ["**/test_*"]},
                  "commands": ["find . -type f | sort"]}, tmp_path)
    assert a.error is None, a.error
    assert a.ctx.logger.messages("INFO") == ["./scripts/a.py", "./scripts/b.sql"]
    b = run_task({"id": "t", "type": SHELL, "namespaceFiles": {"enabled": False},
                  "commands": ["find . -type f | wc -l"]}, tmp_path)
    assert b.ctx.logger.messages("INFO") == ["0"]


def test_env_renders_lists_as_json(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL,
                  "env": {"COLS": "{{ inputs.cols }}", "N": 3, "FLAG": True, "PLAIN": "x-{{ inputs.n }}"},
                  "commands": ["echo \"$COLS\"", "echo $N $FLAG $PLAIN"]},
                 tmp_path, variables={"inputs": {"cols": ["brand", "price"], "n": 2}})
    assert a.error is None, a.error
    cols, rest = a.ctx.logger.messages("INFO")
    assert json.loads(cols) == ["brand", "price"]
    assert rest == "3 true x-2"


def test_timeout_kills_grandchildren(tmp_path: Path) -> None:
    start = time.monotonic()
    a = run_task({"id": "t", "type": SHELL, "timeout": "PT1S", "commands": [
        "sh -c 'sleep 60 & echo $! > grandchild.pid; wait' &", "sleep 0.2", "cat grandchild.pid", "sleep 60",
    ]}, tmp_path)
    assert time.monotonic() - start < 8
    assert isinstance(a.error, TaskError) and "timed out" in a.error.message
    pid = int(a.ctx.logger.messages("INFO")[0])
    assert not _running(pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie waits for a reaper that may be slow in containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_cancel_kills_and_raises_task_killed(tmp_path: Path) -> None:
    ctx = HarnessContext(home=tmp_path, task_id="t")
    threading.Timer(0.3, ctx.cancel.set).start()
    start = time.monotonic()
    a = run_task({"id": "t", "type": SHELL, "commands": ["sleep 30"]}, tmp_path, ctx=ctx)
    assert isinstance(a.error, TaskKilled) and time.monotonic() - start < 5


def test_missing_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL, "interpreter": ["/nonexistent/bash", "-c"], "commands": ["true"]},
                 tmp_path)
    assert isinstance(a.error, TaskError) and "cannot start interpreter '/nonexistent/bash'" in a.error.message
    b = run_task({"id": "t", "type": SHELL, "commands": ["no-such-tool-xyz --version"]}, tmp_path)
    assert isinstance(b.error, TaskError) and "not installed" in b.error.message


def test_missing_python_version_falls_back_with_one_warning(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": PY_SCRIPT, "containerImage": "python:3.99-slim",
                  "script": "import sys; print(sys.version_info[0])"}, tmp_path)
    assert a.error is None, a.error
    warns = a.ctx.logger.messages("WARN")
    assert any("python:3.99-slim" in w and "Docker" in w for w in warns)
    assert any("3.99" in w and "not installed" in w for w in warns)
    assert a.ctx.logger.messages("INFO") == ["3"]


def test_image_tag_picks_the_matching_interpreter(tmp_path: Path) -> None:
    if shutil.which("python3.11") is None:
        pytest.fail("these machines ship python3.11")
    a = run_task({"id": "t", "type": f"{SCRIPTS}.python.Commands", "containerImage": "python:3.11-alpine",
                  "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker", "networkMode": "host"},
                  "commands": ["python -c 'import sys; print(sys.version_info[:2])'", "python3 --version"]},
                 tmp_path)
    assert a.error is None, a.error
    assert a.ctx.logger.messages("INFO")[0] == "(3, 11)"
    assert len(a.ctx.logger.messages("WARN")) == 1


def test_before_commands_failure_names_the_line(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL, "beforeCommands": ["echo one", "ls /definitely/missing", "echo 3"],
                  "commands": ["echo main"]}, tmp_path)
    assert isinstance(a.error, TaskError)
    assert "beforeCommands[1]" in a.error.message and "ls /definitely/missing" in a.error.message
    assert a.error.evidence["failedBeforeCommand"]["index"] == 1
    b = run_task({"id": "t", "type": SHELL, "beforeCommands": ["echo one"], "commands": ["exit 4"]}, tmp_path)
    assert isinstance(b.error, TaskError) and "beforeCommands" not in b.error.message


def test_fail_fast_false_runs_every_command(tmp_path: Path) -> None:
    a = run_task({"id": "t", "type": SHELL, "failFast": False, "commands": ["false", "echo after"]}, tmp_path)
    assert a.error is None and a.ctx.logger.messages("INFO") == ["after"]


@pytest.mark.slow
def test_kestra_package_and_dependencies_venv(tmp_path: Path, shared_state: Path) -> None:
    script = (
        "from kestra import Kestra\nimport requests\n"
        "Kestra.outputs({'n': 42, 'mod': requests.__name__})\n"
        "Kestra.counter('rows', 7, {'k': 'v'})\nKestra.timer('dur', 1.5)\n"
        "log = Kestra.logger()\nlog.info('hello info')\nlog.warning('hello warn')\n"
        "print(true_ if (true_ := True) else 0)\n"
    )
    a = run_task({"id": "t", "type": PY_SCRIPT, "dependencies": ["requests", "kestra"], "script": script},
                 tmp_path, state_dir=shared_state)
    assert a.error is None, (a.error, a.ctx.logger.lines)
    assert a.outputs is not None and a.outputs["vars"] == {"n": 42, "mod": "requests"}
    assert ("rows", "counter", 7.0, {"k": "v"}) in a.ctx.metrics and ("dur", "timer", 1.5, {}) in a.ctx.metrics
    assert any(lv == "INFO" and m.endswith("hello info") for lv, m in a.ctx.logger.lines)
    assert any(lv == "WARN" and m.endswith("hello warn") for lv, m in a.ctx.logger.lines)
    again = run_task({"id": "t", "type": PY_SCRIPT, "dependencies": ["kestra", "Requests"],
                      "script": "import kestra"}, tmp_path, state_dir=shared_state)
    assert again.error is None and not any("built venv" in m for m in again.ctx.logger.messages())


#: where `kestra` and its requirements come from, and whether the interpreter had each before importing kestra
_WHERE = """\
import importlib.util, os
REQUIRED = ("requests", "six", "amazon", "dateutil")
OTHERS = ("typer", "duckdb", "psycopg", "rich", "pydantic")  # flowrun's own, not kestra's
native = {m: importlib.util.find_spec(m) is not None for m in REQUIRED + OTHERS}
from kestra import Kestra
import kestra, requests, six, amazon.ion, dateutil
Kestra.outputs({"kestra": os.path.realpath(kestra.__file__), "native": native,
                "files": {m: __import__(m).__file__ for m in REQUIRED},
                "leaked": [m for m in OTHERS if not native[m] and importlib.util.find_spec(m)]})
"""


def _check_kestra_sources(found: dict) -> None:
    for module, path in found["files"].items():  # the interpreter's own copy wins over kestra's requirement
        assert ("/pylib/kestra-" in path) == (not found["native"][module]), (module, path)
    assert not all(found["native"].values()), "nothing came from flowrun's copy: the test proves nothing"
    assert found["leaked"] == [], "flowrun's other packages must not reach a task"


def test_kestra_package_without_dependencies_in_script_and_commands(tmp_path: Path, shared_state: Path) -> None:
    import kestra

    flowrun_kestra = os.path.realpath(kestra.__file__)
    script = run_task({"id": "t", "type": PY_SCRIPT, "script": _WHERE}, tmp_path, state_dir=shared_state)
    commands = run_task({"id": "t", "type": f"{SCRIPTS}.python.Commands", "inputFiles": {"main.py": _WHERE},
                         "commands": ["python main.py"]}, tmp_path, state_dir=shared_state)
    for attempt in (script, commands):
        assert attempt.error is None, (attempt.error, attempt.ctx.logger.lines)
        found = attempt.outputs["vars"] if attempt.outputs else {}
        assert found["kestra"] == flowrun_kestra
        _check_kestra_sources(found)


@pytest.mark.slow
def test_kestra_package_with_a_dependencies_venv_and_after_pip_install(tmp_path: Path, shared_state: Path) -> None:
    venv = run_task({"id": "t", "type": PY_SCRIPT, "dependencies": ["six"], "script": _WHERE},
                    tmp_path, state_dir=shared_state)
    assert venv.error is None, (venv.error, venv.ctx.logger.lines)
    found = venv.outputs["vars"] if venv.outputs else {}
    assert found["kestra"].endswith("/kestra.py") and "/venvs/" not in found["kestra"]
    assert "/venvs/" in found["files"]["six"], "the venv's own six wins over kestra's requirement"
    own = run_task({"id": "t", "type": f"{SCRIPTS}.python.Commands",
                    "beforeCommands": ["python3 -m venv venv", ". venv/bin/activate", "pip install kestra"],
                    "commands": ["python -c 'import kestra; from kestra import Kestra; print(kestra.__file__)'"]},
                   tmp_path, state_dir=shared_state)
    assert own.error is None, (own.error, own.ctx.logger.lines)
    (printed,) = [m for m in own.ctx.logger.messages("INFO") if m.endswith("kestra.py")]
    assert "/pylib/" not in os.path.realpath(printed), "a task's own kestra must win over flowrun's"


def test_failing_pip_install_is_clear(tmp_path: Path, shared_state: Path) -> None:
    a = run_task({"id": "t", "type": PY_SCRIPT, "dependencies": ["requests==0.0.0.1"], "script": "pass"},
                 tmp_path, state_dir=shared_state)
    assert isinstance(a.error, TaskError)
    assert "dependencies ['requests==0.0.0.1'] could not be installed" in a.error.message
    assert "requests" in " ".join(a.error.evidence["stderrTail"])
    (tmp_path / "requirements.txt").write_text("requests==0.0.0.1\n")
    b = run_task({"id": "t", "type": f"{SCRIPTS}.python.Commands", "inputFiles": {"r.txt": "requests==0.0.0.1"},
                  "beforeCommands": ["python3 -m venv venv", ". venv/bin/activate", "pip install -r r.txt"],
                  "commands": ["true"]}, tmp_path, state_dir=shared_state)
    assert isinstance(b.error, TaskError)
    assert "beforeCommands[2] `pip install -r r.txt` failed" in b.error.message


def test_concurrent_runs_share_one_venv_build(tmp_path: Path) -> None:
    state = tmp_path / "state"
    results = []

    def one(i: int) -> None:
        results.append(run_task({"id": f"t{i}", "type": PY_SCRIPT, "dependencies": ["six"],
                                 "script": "import six; print(six.__name__)"}, tmp_path / str(i), state_dir=state))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.error is None for r in results), [r.error for r in results]
    built = [r for r in results if any("built venv" in m for m in r.ctx.logger.messages())]
    assert len(built) == 1
    assert len([p for p in (state / "venvs").iterdir() if p.is_dir()]) == 1


def test_every_script_type_is_registered_and_runs(tmp_path: Path) -> None:
    bodies = {"python.Script": ("script", "print('ok')"), "python.Commands": ("commands", ["python -c 'print(\"ok\")'"]),
              "shell.Script": ("script", "echo ok"), "shell.Commands": ("commands", ["echo ok"]),
              "node.Script": ("script", "console.log('ok')"), "node.Commands": ("commands", ["node -e \"console.log('ok')\""])}
    names = [f"{SCRIPTS}.{k}" for k in bodies]
    aliases = [a for a, c in ALIASES.items() if c in names]
    assert len(aliases) >= 5
    for type_name in names + aliases:
        cls = task_class(type_name)
        canonical = ALIASES.get(type_name, type_name)
        prop, body = bodies[canonical[len(SCRIPTS) + 1:]]
        a = run_task({"id": "t", "type": type_name, prop: body}, tmp_path)
        assert a.error is None, (type_name, a.error)
        assert a.ctx.logger.messages("INFO") == ["ok"], (type_name, cls)


def test_unknown_task_runner_is_rejected_at_load() -> None:
    with pytest.raises(ValueError, match="not supported"):
        task_class(SHELL).model_validate({"id": "t", "type": SHELL, "commands": ["true"],
                                          "taskRunner": {"type": "io.kestra.plugin.ee.aws.runner.Batch"}})


def test_a_task_never_inherits_secret_sources_or_flowrun_credentials(tmp_path: Path, monkeypatch) -> None:
    """SECRET_* reach a task only through secret(); a state or broker URL with its password never does."""
    monkeypatch.setenv("SECRET_API_TOKEN", "c2VjcmV0LXRva2Vu")
    monkeypatch.setenv("FLOWRUN_BROKER", "redis://:broker-pw@127.0.0.1:6379/0")
    monkeypatch.setenv("FLOWRUN_SERVER_TOKEN", "server-token-value")
    monkeypatch.setenv("FLOWRUN_PLAIN_SETTING", "kept")
    a = run_task({"id": "t", "type": SHELL, "commands": [
        """echo "::{\\"outputs\\": {\\"env\\": \\"$(env | sort | tr '\\n' ' ')\\"}}::\""""]}, tmp_path)
    assert a.error is None, a.error
    env = a.outputs["vars"]["env"]
    assert "FLOWRUN_PLAIN_SETTING=kept" in env
    for leaked in ("SECRET_API_TOKEN", "c2VjcmV0LXRva2Vu", "broker-pw", "server-token-value"):
        assert leaked not in env
