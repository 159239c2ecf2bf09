"""`executor:` in flowrun.yaml and its environment overrides; a local run never imports celery."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import Project
from helpers import assert_clean, flow_text

from flowrun.errors import UsageError
from flowrun.project import open_project


def test_a_local_run_imports_no_celery(project: Project) -> None:
    path = project.flow(flow_text("scaleout/hello.yaml"), "hello.yaml")
    probe = ("import sys\nfrom flowrun.app.run import RunOptions, run_flow\n"
             f"run_flow({str(path)!r}, RunOptions(home={str(project.home)!r}))\n"
             "print(','.join(m for m in ('celery', 'kombu', 'amqp', 'redis') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=project.root,
                          env={k: v for k, v in os.environ.items() if not k.startswith("FLOWRUN_")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_environment_overrides_flowrun_yaml(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.config("executor:\n  type: celery\n  broker: redis://127.0.0.1:6379/3\n  lostAfter: PT20S\n")
    settings = open_project(str(project.home), project.root).executor
    assert (settings.celery, settings.broker, settings.lost_after_seconds) == (True, "redis://127.0.0.1:6379/3", 20)
    monkeypatch.setenv("FLOWRUN_EXECUTOR", "local")
    assert not open_project(str(project.home), project.root).executor.celery
    monkeypatch.delenv("FLOWRUN_EXECUTOR")
    monkeypatch.setenv("FLOWRUN_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("FLOWRUN_LOST_AFTER", "2.5")
    settings = open_project(str(project.home), project.root).executor
    assert (settings.broker, settings.lost_after_seconds) == ("amqp://guest:guest@127.0.0.1:5672//", 2.5)
    monkeypatch.setenv("FLOWRUN_BROKER", "http://nope")
    with pytest.raises(UsageError, match="environment are invalid: .*http://nope"):
        assert open_project(str(project.home), project.root).executor


def test_bad_executor_settings_are_located_errors(project: Project) -> None:
    project.config("executor:\n  type: celery\n  broker: kafka://somewhere\n")
    project.flow(flow_text("scaleout/hello.yaml"), "hello.yaml")
    result = project.cli("run", "flows/hello.yaml")
    assert_clean(result, 3)
    assert "flowrun.yaml" in result.stderr and "redis://... or amqp://..." in result.stderr
    project.config("executor:\n  type: celery\n")
    result = project.cli("worker")
    assert_clean(result, 2)
    assert "the celery executor needs a broker" in result.stderr
    project.config("")
    result = project.cli("run", "flows/hello.yaml", "--detach")
    assert_clean(result, 2)
    assert "--detach needs the celery executor" in result.stderr


def test_worker_group_key_on_a_task_or_in_plugin_defaults_is_its_queue(project: Project) -> None:
    from flowrun.load import load_flow
    from flowrun.scaleout.broker import queue_for

    project.config("executor:\n  type: celery\n  broker: redis://127.0.0.1:6379/0\n  queue: main\n"
                   "pluginDefaults:\n  - type: io.kestra.plugin.scripts.shell.Commands\n"
                   "    values:\n      workerGroup:\n        key: shells\n")
    path = project.flow(flow_text("scaleout/handoff.yaml", first="gpu", second="io"), "handoff.yaml")
    opened = open_project(str(project.home), project.root)
    flow = load_flow(path, opened.config.plugin_defaults)
    queues = {task.id: queue_for(opened.executor, task.worker_group) for task in flow.all_tasks()}
    assert queues == {"make": "gpu", "use": "io"}  # a task's own key wins over the defaults
    other = project.flow(flow_text("scaleout/parallel8.yaml"), "parallel8.yaml")
    queues = {task.id: queue_for(opened.executor, task.worker_group)
              for task in load_flow(other, opened.config.plugin_defaults).all_tasks()}
    assert queues == {"fan": "main", **{f"s{i}": "shells" for i in range(1, 9)}}


def test_a_worker_on_a_sqlite_state_warns_that_it_does_not_scale_out(project: Project) -> None:
    import signal
    import time
    import uuid

    project.config(f"executor:\n  type: celery\n  broker: redis://127.0.0.1:6379/0\n  queue: q-{uuid.uuid4().hex}\n")
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STATE"}
    worker = subprocess.Popen([sys.executable, "-m", "flowrun", "worker", "--concurrency", "1"], cwd=project.root,
                              env={**env, "FLOWRUN_HOME": str(project.home)}, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert worker.stderr is not None
        line = worker.stderr.readline()
        assert line.startswith("warning: the state is the SQLite file") and "FLOWRUN_STATE" in line
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
