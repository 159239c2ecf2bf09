"""What the web tests share: a real `flowrun server` subprocess on a free port, Debian's Chromium through
Playwright (never a downloaded browser; a browser that cannot start fails the test), and kept screenshots."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Project

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: every screenshot a test takes is kept here (git-ignored); with FLOWRUN_DOCS_SCREENSHOTS=1 the README's go
#: to docs/img/ too
ARTIFACTS = ROOT / "test-artifacts"
DOCS_IMG = ROOT / "docs" / "img"
DOCS_SHOTS = ("executions", "execution-gantt")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    stderr: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(project: Project, *args: str, env: dict[str, str] | None = None, wait: float = 30) -> Server:
    """`flowrun server --port 0 ARGS` in the project; returns once it printed the URL it serves."""
    full_env = {**os.environ, "FLOWRUN_HOME": str(project.home), **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "flowrun", "server", "--port", "0", *args], cwd=project.root,
                               env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    server = Server(process, "")

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.stderr.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith("flowrun server: "):
            server.url = line.split()[2].rstrip("/")
            return server
    server.stop()
    pytest.fail(f"flowrun server did not start: {''.join(server.stderr)}")


@pytest.fixture
def served(project: Project) -> Iterator[Server]:
    server = start_server(project)
    yield server
    server.stop()


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless; a test fails loudly (never skips) when it cannot start."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (and docs/img/ for the README's, when asked)."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 1000
    if os.environ.get("FLOWRUN_DOCS_SCREENSHOTS") == "1" and name in DOCS_SHOTS:
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_IMG / f"{name}.png")
    return target


def wait_for_state(project: Project, execution_id: str, states: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    """The execution once it reached one of `states` (read through the CLI's JSON)."""
    deadline = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        shown = project.cli("executions", "show", execution_id, "--json")
        if shown.code == 0:
            data = shown.json()
            if data["state"] in states:
                return data
        time.sleep(0.3)
    pytest.fail(f"execution {execution_id} did not reach {states}: {data.get('state')}")
