"""The issue's compat flows, end to end through `flowrun.app.run.run_flow` (a local HTTP server stands in for the web).

Stand-ins (as ../shared/compat/README.md allows): URLs are rewritten from `https://host` to the local server
in a temporary copy of the flow or namespace file; Docker task runners run as local processes.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import SHARED
from httpserver import LocalHTTPServer

from flowrun.app.inspect import execution_logs
from flowrun.app.run import run_flow
from flowrun.model.execution import Execution

COMPAT = SHARED / "compat"


def _project(tmp_path: Path, flow: Path, replace: dict[str, str] | None = None) -> Path:
    """A project dir with a copy of `flow` under flows/, its URLs rewritten as `replace` says."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    text = flow.read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    target = root / "flows" / flow.name
    target.write_text(text)
    return target


def _task(execution: Execution, task_id: str) -> dict:
    runs = [tr for tr in execution.task_runs if tr.task_id == task_id]
    assert runs, f"no task run for {task_id}"
    return runs[-1].to_json()


def _messages(home: Path, execution_id: str) -> list[str]:
    return [row["message"] for row in execution_logs(str(home), execution_id)]


def test_seed_hello_world_twice_second_served_from_cache(tmp_path: Path) -> None:
    body = json.dumps({"stargazers_count": 31337}).encode()
    with LocalHTTPServer({"/repos/kestra-io/kestra": ("application/json", body)}) as srv:
        flow = _project(tmp_path, COMPAT / "seed" / "hello-world.yaml")
        root = flow.parents[1]
        shutil.copytree(COMPAT / "seed" / "namespace_files", root / "namespace_files")
        script = root / "namespace_files" / "company.team" / "company.team" / "scripts" / "api_example.py"
        script.chmod(0o644)
        script.write_text(script.read_text().replace("https://api.github.com", srv.base))
        times, executions = [], []
        for _ in range(2):
            start = time.monotonic()
            execution = run_flow(flow)
            times.append(time.monotonic() - start)
            executions.append(execution)
            assert execution.state == "SUCCESS", _messages(root / ".flowrun", execution.id)
            logs = _messages(root / ".flowrun", execution.id)
            assert "31337" in logs
            assert any("served from the cache" in m for m in logs)
    print(f"seed run times: first {times[0]:.3f}s, second {times[1]:.3f}s")
    assert times[1] <= 0.3 * times[0], times


@pytest.mark.slow
def test_zoomcamp_02_python_docker_runner_with_dependencies(tmp_path: Path) -> None:
    body = json.dumps({"pull_count": 123456789}).encode()
    with LocalHTTPServer({"/v2/repositories/kestra/kestra/": ("application/json", body)}) as srv:
        flow = _project(tmp_path, COMPAT / "zoomcamp" / "current" / "02_python.yaml",
                        {"https://hub.docker.com": srv.base})
        execution = run_flow(flow)
        root = flow.parents[1]
        logs = _messages(root / ".flowrun", execution.id)
        assert execution.state == "SUCCESS", logs
        collect = _task(execution, "collect_stats")
        assert collect["outputs"]["vars"]["downloads"] == 123456789
        assert collect["outputs"]["exitCode"] == 0
        assert any("python:slim" in m and "Docker" in m for m in logs)


def _products() -> bytes:
    products = [{"id": i, "title": f"p{i}", "brand": "b" + str(i % 3), "price": 10.0 + i, "stock": i}
                for i in range(12)]
    products.append({"id": 99, "title": "no brand", "price": 1.5})
    return json.dumps({"products": products, "total": len(products)}).encode()


@pytest.mark.parametrize("flow_file", ["current/03_getting_started_data_pipeline.yaml",
                                       "cohort-2025/01_getting_started_data_pipeline.yaml"])
def test_getting_started_download_and_python_steps(tmp_path: Path, flow_file: str) -> None:
    with LocalHTTPServer({"/products": ("application/json", _products())}) as srv:
        flow = _project(tmp_path, COMPAT / "zoomcamp" / flow_file, {"https://dummyjson.com": srv.base})
        execution = run_flow(flow)
    assert _task(execution, "extract")["state"] == "SUCCESS"
    transform = _task(execution, "transform")
    assert transform["state"] == "SUCCESS", _messages(flow.parents[1] / ".flowrun", execution.id)
    files = transform["outputs"]["outputFiles"]
    assert set(files) == {"data.json", "products.json"}
    storage = flow.parents[1] / ".flowrun" / "storage"
    local = storage / files["products.json"][len("kestra:///"):]
    rows = json.loads(local.read_text())
    assert rows[0] == {"brand": "b0", "price": 10.0} and rows[-1] == {"brand": "N/A", "price": 1.5}
