"""Benchmarks of `flowrun server`: time to serve, the executions page over 10,000 executions (server time), and
how soon a log line written by a running task shows on the open execution page (Debian's Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import interleave, workdir

CLI = "from flowrun.cli import main\nmain()\n"
#: the smallest Starlette app on uvicorn, started the same way: what any such server costs before flowrun's work
BARE = ("import sys, uvicorn\nfrom starlette.applications import Starlette\nfrom starlette.responses import "
        "PlainTextResponse\nfrom starlette.routing import Route\n"
        "async def ok(request):\n    return PlainTextResponse('ok')\n"
        "app = Starlette(routes=[Route('/executions', ok)])\n"
        "config = uvicorn.Config(app, host='127.0.0.1', port=0, log_level='warning')\n"
        "server = uvicorn.Server(config)\n"
        "import threading, time\n"
        "def say():\n    while not server.started: time.sleep(0.01)\n"
        "    port = server.servers[0].sockets[0].getsockname()[1]\n"
        "    sys.stderr.write(f'flowrun server: http://127.0.0.1:{port}/\\n'); sys.stderr.flush()\n"
        "threading.Thread(target=say, daemon=True).start()\nserver.run()\n")
LOG_FLOW = """id: talker
namespace: bench
tasks:
  - id: talk
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - for i in $(seq 1 {lines}); do echo "line $i"; sleep 0.3; done
"""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _project(prefix: str) -> Path:
    project = workdir(prefix)
    (project / "flows").mkdir()
    return project


def _start(project: Path, argv: list[str]) -> tuple[subprocess.Popen[str], str, float]:
    """Spawn a server; (process, url, seconds until it answered its first GET /executions with 200)."""
    env = {**os.environ, "FLOWRUN_HOME": str(project / ".flowrun")}
    began = time.perf_counter()
    process = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    url = ""
    for line in process.stderr:
        if line.startswith("flowrun server: "):
            url = line.split()[2].rstrip("/")
            break
    if not url:
        process.kill()
        raise RuntimeError("the server did not start")
    while requests.get(url + "/executions", timeout=10).status_code != 200:
        time.sleep(0.005)
    return process, url, time.perf_counter() - began


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _ready_once(project: Path, argv: list[str]) -> float:
    process, _, seconds = _start(project, argv)
    _stop(process)
    return seconds


def ready_figure(tiny: bool) -> dict[str, Any]:
    project = _project("bench-server-ready-")
    try:
        ours = [sys.executable, "-c", CLI, "server", "--port", "0"]
        bare = [sys.executable, "-c", BARE]
        result = interleave(1 if tiny else 5, lambda: _ready_once(project, ours), lambda: _ready_once(project, bare))
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return {"name": "`flowrun server` ready to serve", "command": "flowrun server --port 0",
            "timed": "spawn until the first GET /executions answers 200 (an empty project)",
            "baseline": "a bare Starlette app on uvicorn, spawned and polled the same way", **result,
            "figure": result["flowrun_median_s"], "unit": "s", "goal": "<= 1 s", "goal_max": 1.0}


def _fill(project: Path, count: int) -> None:
    """`count` finished executions of 20 flows in 4 namespaces, recorded through the StateStore."""
    from flowrun.model.execution import Execution, new_id
    from flowrun.state.db import Database

    db = Database(project / ".flowrun" / "state.db")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(count):
        begun = start + timedelta(minutes=index)
        execution = Execution(id=new_id(), namespace=f"bench.ns{index % 4}", flow_id=f"flow{index % 20}",
                              state="FAILED" if index % 7 == 0 else "SUCCESS", start_date=begun,
                              end_date=begun + timedelta(seconds=3), labels=[("team", f"t{index % 5}")])
        db.save_execution(execution, {}, {})
    db.close()


def _server_ms(url: str) -> float:
    answer = requests.get(url, timeout=30)
    answer.raise_for_status()
    match = re.search(r"app;dur=([0-9.]+)", answer.headers.get("server-timing", ""))
    assert match, answer.headers
    return float(match.group(1)) / 1000


def page_figure(tiny: bool) -> dict[str, Any]:
    count = 300 if tiny else 10_000
    project = _project("bench-server-page-")
    _fill(project, count)
    process, url, _ = _start(project, [sys.executable, "-c", CLI, "server", "--port", "0"])
    try:
        pages = [url + "/executions", url + "/executions?page=40", url + "/executions?state=FAILED&namespace=bench.ns1",
                 url + "/executions?label=team:t3&from=2024-01-02"]
        for target in pages:
            _server_ms(target)  # warm up
        turn = iter(range(1_000_000))
        result = interleave(5 if tiny else 40, lambda: _server_ms(pages[next(turn) % len(pages)]),
                            lambda: _server_ms(url + "/static/style.css"))
    finally:
        _stop(process)
        shutil.rmtree(project, ignore_errors=True)
    return {"name": f"the executions page over {count:,} executions", "command": "GET /executions (4 filters, pages)",
            "timed": "server time (its Server-Timing header): query, count and render of one page of 25",
            "baseline": "GET /static/style.css on the same server (routing, auth, one file read)", **result,
            "figure": result["flowrun_median_s"], "unit": "s", "goal": "<= 150 ms (median)", "goal_max": 0.150}


def _latencies(page: Any) -> list[float]:
    """Seconds from each log line's own timestamp to its arrival on the page (both read on this machine)."""
    rows = page.evaluate("window.__arrivals")
    out = []
    for text, arrived_ms in rows:
        stamp = datetime.fromisoformat(text.split(" ", 1)[0].replace("Z", "+00:00"))
        out.append(arrived_ms / 1000 - stamp.timestamp())
    return out


WATCH = """window.__arrivals = [];
new MutationObserver(function (changes) { changes.forEach(function (change) {
  change.addedNodes.forEach(function (node) { window.__arrivals.push([node.textContent, Date.now()]); }); }); })
  .observe(document.getElementById('logs'), {childList: true});"""


def live_log_figure(tiny: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    lines = 3 if tiny else 12
    project = _project("bench-server-logs-")
    (project / "flows" / "talker.yaml").write_text(LOG_FLOW.format(lines=lines), encoding="utf-8")
    process, url, _ = _start(project, [sys.executable, "-c", CLI, "server", "--port", "0"])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url + "/flows/bench/talker")
            page.click("#run-form button[type=submit]")
            page.wait_for_url(re.compile(r"/executions/[A-Za-z0-9]+$"))
            page.evaluate(WATCH)
            page.locator("#execution-state", has_text="SUCCESS").wait_for(timeout=120_000)
            seen = [value for value in _latencies(page) if value >= -0.05]
            browser.close()
    finally:
        _stop(process)
        shutil.rmtree(project, ignore_errors=True)
    if not seen:
        raise RuntimeError("no log line arrived on the open page")
    median = statistics.median(seen)
    return {"name": "a log line reaches the open execution page", "command": "flowrun server + Chromium (EventSource)",
            "timed": "from the line's recorded timestamp to its DOM insertion, lines of a running shell task",
            "baseline": None, "runs": len(seen), "flowrun_s": [round(x, 4) for x in seen],
            "flowrun_median_s": round(median, 4), "figure": round(median, 4), "unit": "s", "goal": "<= 1 s (median)",
            "goal_max": 1.0}


def run(tiny: bool = False) -> list[dict[str, Any]]:
    return [ready_figure(tiny), page_figure(tiny), live_log_figure(tiny)]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_server [--tiny]
    import json

    print(json.dumps(run("--tiny" in sys.argv), indent=2))
