"""The live view fits a 40-line terminal: finished groups fold, running and failed rows stay, a summary closes."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

from conftest import Project
from rich.console import Console

from flowrun.engine.events import LogLine
from flowrun.model.execution import Execution, State, TaskRun, utcnow
from flowrun.report.console import LiveReporter, PlainReporter
from flowrun.report.live_rows import count_runs

FOREACH = "io.kestra.plugin.core.flow.ForEach"
LOG = "io.kestra.plugin.core.log.Log"


def _console(height: int = 40, width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=False, color_system=None)


def _midway() -> tuple[Execution, list[TaskRun]]:
    """A ForEach over 60 values seen mid-run: 57 done, 1 failed, 2 running; a task after it not started."""
    start = utcnow() - timedelta(seconds=5)
    execution = Execution("e1", "demo", "sixty", State.RUNNING, start_date=start)
    each = TaskRun("each", "e1", "each", FOREACH, 0, state=State.RUNNING, start_date=start)
    states = [State.SUCCESS] * 57 + [State.FAILED, State.RUNNING, State.RUNNING]
    children = [TaskRun(f"c{i}", "e1", "say", LOG, i + 1, parent_id="each", value=str(i), state=state,
                        start_date=start, end_date=None if state == State.RUNNING else start)
                for i, state in enumerate(states)]
    return execution, [each, *children]


def test_sixty_iterations_fit_forty_lines_with_running_and_failed_rows_in_view() -> None:
    console = _console()
    reporter = LiveReporter(console=console)
    execution, runs = _midway()
    reporter.execution_updated(execution)
    for taskrun in runs:
        reporter.taskrun_updated(execution, taskrun)
    with console.capture() as captured:
        console.print(reporter.renderable())
    reporter.close()
    lines = captured.get().splitlines()
    assert len(lines) <= 40, lines
    assert "demo/sixty  RUNNING  done 57/61  running 3  failed 1  elapsed 5." in lines[0]
    assert any("each  ForEach  57/60 done, 1 failed" in line for line in lines), lines
    for value, state in (("57", "FAILED"), ("58", "RUNNING"), ("59", "RUNNING")):
        assert any(f"say[{value}]" in line and state in line for line in lines), (value, lines)
    assert not any("say[3]" in line for line in lines)  # finished rows are folded into the group's line


def test_the_rows_that_fit_are_all_shown() -> None:
    console = _console(height=80)
    reporter = LiveReporter(console=console)
    execution, runs = _midway()
    reporter.execution_updated(execution)
    for taskrun in runs:
        reporter.taskrun_updated(execution, taskrun)
    with console.capture() as captured:
        console.print(reporter.renderable())
    reporter.close()
    assert "say[3]" in captured.get() and "each  ForEach  57/60 done, 1 failed" in captured.get()


def test_a_real_run_ends_with_a_summary_block(project: Project) -> None:
    console = _console()
    reporter = LiveReporter(console=console)
    execution = project.run(project.flow_file("cli/foreach60.yaml"), listeners=[reporter])
    reporter.summary(execution, {"checked": "sixty values"})
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert execution.state == "FAILED"
    final = text[text.rindex("tests.cli/foreach60  FAILED"):]
    assert "each  ForEach  59/60 done, 1 failed" in final and "check[13]" in final
    assert "check[1]" not in final.replace("check[13]", "")
    assert "FAILED in " in final and "failed tasks:" in final
    assert "check[13]: value 13 is unlucky" in final and "second line" not in final
    assert "checked = sixty values" in final


def test_the_plain_view_prints_the_summary_and_outputs(project: Project) -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    execution = project.run(project.flow_file("cli/foreach60.yaml"), listeners=[reporter])
    reporter.summary(execution, {})
    tail = stream.getvalue().splitlines()[-3:]
    assert tail[0].startswith("FAILED in ") and tail[1:] == ["failed tasks:", "  check[13]: value 13 is unlucky"]


def test_a_running_row_shows_a_spinner_with_its_last_log_line_such_as_a_venv_build() -> None:
    console = _console(width=120)
    reporter = LiveReporter(console=console)
    execution, runs = _midway()
    reporter.execution_updated(execution)
    for taskrun in runs:
        reporter.taskrun_updated(execution, taskrun)
    message = "building venv 0a1b2c for pandas==2.2.3, pyarrow"
    reporter.log(LogLine("e1", "c58", "say", 1, "DEBUG", utcnow(), message))
    with console.capture() as captured:
        console.print(reporter.renderable())
    reporter.close()
    [row] = [line for line in captured.get().splitlines() if "say[58]" in line]
    assert row.rstrip().endswith(message) and "RUNNING" in row
    assert row.split("RUNNING")[1].split()[1] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # the spinner's frame before the message


def test_run_prints_the_flow_outputs_when_it_ends(project: Project) -> None:
    from conftest import ROOT

    project.flow((ROOT / "flows" / "hello.yaml").read_text(encoding="utf-8"), "hello.yaml")
    result = project.cli("run", "flows/hello.yaml", "--input", "name=Ana")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[-3].startswith("SUCCESS in ")
    assert result.stdout.splitlines()[-2:] == ["outputs:", "  greeting = Hello, Ana!"]


def test_a_running_foreach_of_sixty_keeps_its_running_and_failed_rows_in_forty_lines(project: Project,
                                                                                  tmp_path: Path) -> None:
    """A real execution, sampled while three iterations wait at a gate and one has failed."""
    gate = tmp_path / "gate"
    console = _console()
    reporter = LiveReporter(console=console)
    path = project.flow_file("cli/foreach60_gated.yaml")
    done: list[Execution] = []
    worker = threading.Thread(target=lambda: done.append(project.run(path, {"gate": str(gate)},
                                                                     listeners=[reporter])))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = count_runs(list(reporter.runs.values()))
            # each and three holds run; every check and every hold but 13's exist
            if counts.running == 4 and counts.total == 1 + 60 + 59:
                break
            time.sleep(0.05)
        with console.capture() as captured:
            console.print(reporter.renderable())
    finally:
        gate.touch()
        worker.join(timeout=60)
    reporter.close()
    lines = captured.get().splitlines()
    assert len(lines) <= 40, lines
    assert re.search(r"done 115/120  running 4  failed 1  elapsed \d", lines[0]), lines[0]
    assert any(re.search(r"each  ForEach  \d+/119 done, 1 failed", line) for line in lines), lines
    for name, state in (("check[13]", "FAILED"), ("hold[58]", "RUNNING"), ("hold[59]", "RUNNING"),
                        ("hold[60]", "RUNNING")):
        assert any(name in line and state in line for line in lines), (name, lines)
    assert done and done[0].state == "FAILED"
