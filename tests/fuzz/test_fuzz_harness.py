"""The fuzz harness catches what it promises to: a hang, a memory hog, a crash, a traceback; and it recovers."""

from __future__ import annotations

import sys

import pytest

from . import known_failures
from .fuzz_harness import Case, Outcome, Worker, judge, run_subprocess, violations
from .known_failures import KNOWN_FAILURES, KnownFailure, excused, skipped


@pytest.fixture
def quick_worker(fuzz_project):
    worker = Worker(fuzz_project.env, limit_seconds=1.5)
    yield worker
    worker.close()


@pytest.fixture
def roomy_worker(fuzz_project):
    """A worker with the contract's 10 s watchdog: touching 600 MB can take more than 1.5 s on a loaded machine."""
    worker = Worker(fuzz_project.env)
    yield worker
    worker.close()


def _case(fuzz_project, selftest: str | None = None, argv: list[str] | None = None) -> Case:
    return Case(argv or ["validate", "flows/hello.yaml"], str(fuzz_project.root), target="selftest",
                selftest=selftest)


def test_worker_hang_is_killed_and_the_worker_restarts(fuzz_project, quick_worker) -> None:
    hung = quick_worker.run(_case(fuzz_project, "hang"))
    assert hung.timed_out and hung.code is None
    assert "ran longer than 10 s" in violations(_case(fuzz_project), Outcome(None, "", "", 11, 0, timed_out=True))
    after = quick_worker.run(_case(fuzz_project))
    assert after.code == 0 and "ok  flows/hello.yaml" in after.stdout
    assert quick_worker.restarts == 1


def test_worker_measures_each_case_peak_memory(fuzz_project, roomy_worker) -> None:
    hog = roomy_worker.run(_case(fuzz_project, "alloc"))
    assert hog.peak_mb > 600, hog
    assert any("peak memory" in v for v in violations(_case(fuzz_project), hog))
    small = roomy_worker.run(_case(fuzz_project))
    assert small.peak_mb < 300, "the peak must be reset between cases"


def test_worker_abort_and_traceback_are_violations(fuzz_project, quick_worker) -> None:
    aborted = quick_worker.run(_case(fuzz_project, "abort"))
    assert aborted.signal == 6 and "killed by signal 6 (SIGABRT)" in violations(_case(fuzz_project), aborted)
    raised = quick_worker.run(_case(fuzz_project, "traceback"))
    assert "a traceback was printed" in violations(_case(fuzz_project), raised)
    with pytest.raises(AssertionError, match="a traceback was printed"):
        judge(_case(fuzz_project), raised)


def test_subprocess_limits(fuzz_project) -> None:
    case = _case(fuzz_project)
    hung = run_subprocess(case, {}, [sys.executable, "-c", "import time; time.sleep(60)"], limit_seconds=1)
    assert hung.timed_out and hung.code is None and hung.seconds < 5
    hog = run_subprocess(case, {}, [sys.executable, "-c", "b = bytearray(600 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
    assert hog.code == 0 and hog.peak_mb > 600
    capped = run_subprocess(case, {}, [sys.executable, "-c", "bytearray(3 * 2**30)"])
    assert capped.code == 1 and "MemoryError" in capped.stderr
    real = run_subprocess(case, fuzz_project.env)
    assert real.code == 0 and "ok  flows/hello.yaml" in real.stdout and 10 < real.peak_mb < 500


def test_canaries_are_planted_and_caught(fuzz_project) -> None:
    shown = run_subprocess(Case(["render", "{{ secret('FUZZ') }}"], str(fuzz_project.root)), fuzz_project.env)
    assert shown.code == 0 and shown.stdout.strip() == "fuzz-canary-secret-5d0a"
    assert violations(Case(["render", "{{ secret('FUZZ') }}"], "."), shown) == []
    assert violations(Case(["render", "{{ x }}"], "."), shown) == [
        "an environment variable's value (a token or a secret) was printed"]


#: A failure class as an entry of known_failures would describe one (none is open today).
EXAMPLE = KnownFailure(
    "render-template-error-exit-4", "cli render (exit codes)", "issue 10 item 6",
    "flowrun render '{{ nope }}'  # exit 4 (state failure) for a template error",
    lambda c: "render" in c.argv, lambda o: o.code == 4 and "template error: " in o.stderr, ("render exited 4",))


def test_known_failures_are_precise() -> None:
    """Each entry names its area and issue, and its predicates do not match a sound case."""
    sound = Case(["validate", "flows/hello.yaml"], ".", files={"flows/hello.yaml": b"id: a\nnamespace: b\n"})
    fine = Outcome(0, "ok", "", 0.1, 50)
    for known in [*KNOWN_FAILURES, EXAMPLE]:
        assert known.area and known.issue.startswith("issue ") and known.reproducer.startswith("flowrun ")
        assert not (known.applies(sound) and known.outcome is not None and known.outcome(fine))
    assert excused(sound, fine, ["an internal error was reported"]) == (["an internal error was reported"], [])
    assert skipped(sound) is None


def test_a_known_failure_excuses_only_its_own_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(known_failures, "KNOWN_FAILURES", [EXAMPLE])
    case = Case(["render", "{{ nope }}"], ".")
    slow = Outcome(4, "", "error: template error: Unable to find `nope`", 12.0, 600, timed_out=False)
    found = violations(case, slow) + ["render exited 4 (state failure)"]
    left, known = excused(case, slow, found)
    assert [k.name for k in known] == ["render-template-error-exit-4"]
    assert left == ["ran longer than 10 s", "peak memory 600 MB > 500 MB"]
