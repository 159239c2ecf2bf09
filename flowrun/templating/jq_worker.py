"""The jq worker process: runs jq programs read from stdin with an empty environment and capped memory.

Started by `jq_runner` as `python -I -S -c BOOT SYS_PATH_JSON THIS_FILE MEMORY_BYTES CPU_SECONDS
DIE_WITH_PARENT`: the file runs on its own, without importing flowrun (start-up stays short). One request per line, `{"p": program,
"d": json_text}`; one answer per line, `{"ok": [results]}` or `{"error": message}`.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
from functools import lru_cache
from typing import Any

#: `python -c` code that puts the parent's import path in place, then runs this file's `main`.
BOOT = "import json,runpy,sys; sys.path[:] = json.loads(sys.argv[1]); runpy.run_path(sys.argv[2])['main']()"


def _die_with_parent() -> None:
    """On Linux, the kernel kills this worker when flowrun dies, even in the middle of a runaway program.

    (The signal comes when the *thread* that started the worker ends: only asked for by the main thread.)"""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the CPU limit set per call still ends a runaway
        pass


def _isolate(memory: int) -> None:
    """No environment, no readable working directory (jq `import` reads .json files relative to it)."""
    os.environ.clear()
    private = tempfile.mkdtemp(prefix="flowrun-jq-")
    os.chdir(private)
    os.rmdir(private)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a call is interrupted
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


@lru_cache(maxsize=256)
def _compiled(program: str) -> Any:
    import jq

    return jq.compile(program)


def _limit_cpu(seconds: int) -> None:
    """A CPU-time cap for the coming call, on top of the parent's wall-clock timeout."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + seconds if hard == resource.RLIM_INFINITY else min(used + seconds, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def answer(request: dict[str, Any], cpu_seconds: int) -> dict[str, Any]:
    _limit_cpu(cpu_seconds)
    try:
        return {"ok": _compiled(request["p"]).input_text(request["d"]).all()}
    except ValueError as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": "the jq program ran out of memory"}


def main() -> None:
    memory, cpu_seconds = int(sys.argv[3]), int(sys.argv[4])
    if sys.argv[5] == "1":
        _die_with_parent()
    import jq  # noqa: F401 - loaded before the memory cap and the empty environment apply

    _isolate(memory)
    out = sys.stdout
    for line in sys.stdin:
        try:
            reply = json.dumps(answer(json.loads(line), cpu_seconds), allow_nan=True)
        except (TypeError, ValueError) as exc:  # results that JSON cannot carry
            reply = json.dumps({"error": f"jq result cannot be returned: {exc}"})
        out.write(reply + "\n")
        out.flush()
