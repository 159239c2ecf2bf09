"""The fuzz suite's terminal summary (cases run per target, known failures hit), also under pytest-xdist.

Registered from tests/conftest.py so that the xdist controller, which collects nothing, loads it too: each
worker hands its counts over in `workeroutput`, and the controller adds them up before it prints the summary.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .fuzz_harness import CASES_RUN, KNOWN_HITS

_KEY = "flowrun_fuzz_counts"


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the summary
        workeroutput[_KEY] = json.dumps({"cases": CASES_RUN, "known": KNOWN_HITS})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    counts = json.loads(getattr(node, "workeroutput", {}).get(_KEY, "{}"))
    for total, part in ((CASES_RUN, counts.get("cases", {})), (KNOWN_HITS, counts.get("known", {}))):
        for name, count in part.items():
            total[name] = total.get(name, 0) + count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CASES_RUN or hasattr(terminalreporter.config, "workeroutput"):
        return
    from .known_failures import KNOWN_FAILURES

    ran = ", ".join(f"{target} {count}" for target, count in sorted(CASES_RUN.items()))
    terminalreporter.write_line(f"fuzz: cases run: {ran}")
    terminalreporter.write_line("fuzz: known failures hit (0: not drawn this run, or fixed: see known_failures.py)")
    for known in KNOWN_FAILURES:
        count = KNOWN_HITS.get(known.name, 0) + KNOWN_HITS.get(f"{known.name} (skipped)", 0)
        terminalreporter.write_line(f"fuzz: {count:>6} x {known.name} ({known.issue}, {known.area})")
    if KNOWN_HITS.get("UNKNOWN"):
        terminalreporter.write_line(f"fuzz: {KNOWN_HITS['UNKNOWN']:>6} x NEW failures (see the test failures)")
