"""A script failure reads once: the command indented, exit code, working dir, stderr not repeated, no empty line."""

from __future__ import annotations

import io

from conftest import Project

from flowrun.engine.evidence import evidence_lines
from flowrun.report.console import PlainReporter


def test_a_failed_script_prints_its_evidence_once(project: Project) -> None:
    stream = io.StringIO()
    execution = project.run(project.flow_file("cli/scriptfail.yaml"), listeners=[PlainReporter(stream)])
    assert execution.state == "FAILED"
    lines = stream.getvalue().splitlines()
    errors = [line.split("ERROR extract:", 1)[1] for line in lines if "ERROR extract:" in line]
    assert sum("Traceback (most recent call last)" in line for line in errors) == 1
    assert all(line.strip() for line in errors), errors  # no empty `ERROR extract:` line
    assert not any("stderrTail" in line or "['" in line for line in errors), errors
    start = errors.index(" command failed with exit code 1: ValueError: bad data")
    block = errors[start + 1:]
    assert block[0] == "   command:" and "     echo starting" in block
    assert "     python3 -c \"raise ValueError('bad data')\"" in block
    assert "   exit code: 1" in block and any(line.startswith("   working dir: ") for line in block)
    assert block[-1].startswith("   stderr: logged above")


def test_evidence_not_logged_before_shows_the_stderr_tail_as_a_block() -> None:
    lines = evidence_lines({"command": "uv pip install nope", "exitCode": 2, "stderrTail": ["", "no such package"],
                            "venv": "/v/abc", "interpreter": ["/usr/bin/python3"], "failedBeforeCommand":
                            {"index": 0, "line": "pip install nope"}})
    assert lines == ["  command:", "    uv pip install nope", "  exit code: 2", "  interpreter: /usr/bin/python3",
                     "  last stderr lines:", "    no such package", "  venv: /v/abc",
                     '  failedBeforeCommand: {"index": 0, "line": "pip install nope"}']
