"""A long-lived fuzz worker: runs CLI cases from stdin through `flowrun.cli.main` in-process, one JSON line each.

Started by `fuzz_harness.Worker` in its own process (with rlimits), so a case that hangs, aborts or eats memory
takes down only this worker, which the harness then restarts. Each request is a JSON object
`{"argv": [...], "cwd": "...", "env": {...}}`; each reply is `{"code", "stdout", "stderr", "seconds", "peak_mb"}`.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def _selftest(name: str) -> None:
    """Misbehaviours that prove the harness's watchdogs work (see test_fuzz_harness.py)."""
    if name == "hang":
        time.sleep(3600)
    if name == "alloc":
        block = bytearray(600 * 1024 * 1024)
        block[:: 4096] = b"x" * len(block[:: 4096])
    if name == "abort":
        os.abort()
    if name == "traceback":
        raise ValueError("selftest")


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    from flowrun import cli

    saved_env = {k: os.environ.get(k) for k in case.get("env", {})}
    os.environ.update(case.get("env", {}))
    os.chdir(case["cwd"])
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = out, err
    sys.argv = ["flowrun", *case["argv"]]
    code: Any = 0
    _reset_peak()
    start = time.monotonic()
    try:
        if case.get("selftest"):
            _selftest(case["selftest"])
        cli.main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: B036 - report whatever escaped main(), as the real process would
        import traceback

        traceback.print_exc(file=err)
        code = 1
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds = time.monotonic() - start
    if code is None:
        code = 0
    elif not isinstance(code, int):
        err.write(f"{code}\n")
        code = 1
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "seconds": seconds,
            "peak_mb": _peak_mb()}


def main() -> None:
    requests = os.fdopen(os.dup(0), encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # a case that reads stdin sees EOF, not the next request
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # a case that writes to fd 1 cannot corrupt the replies
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the worker
    import flowrun.app.run  # noqa: F401 - warm the imports once, so cases measure flowrun, not its start-up
    import flowrun.cli  # noqa: F401

    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        reply = run_case(json.loads(line))
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
