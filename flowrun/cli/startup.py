"""The garbage collector across the program's start-up: paused while flowrun loads, resumed once a command runs.

Start-up allocates hundreds of thousands of objects (modules, classes, the cached flow) and frees almost none of
them, so each collection the allocations trigger finds nothing: ~7 ms of a 120 ms cached `flowrun run`
(bench/bench_peers.py). `flowrun.cli.entry`, the program alone, pauses collection; the command resumes it once its
modules are loaded and its flow is ready, freezing what start-up made so that later collections skip it. A
process that imports flowrun as a library (tests, the web server, a Celery worker) is never paused.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collection() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """Collect again, as before the pause; what start-up made moves to the permanent generation (`gc.freeze`)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
