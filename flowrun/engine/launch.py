"""How to run one execution of a flow: the options the engine and the schedulers hand to `start_execution`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


def default_max_parallel() -> int:
    """The global cap on running task attempts when neither `--max-parallel` nor `maxParallel` is set.

    Generous on purpose: most tasks wait on I/O (subprocesses, databases, HTTP), so a flow's own `concurrent`
    must not be cut by a CPU-based default. Kestra's server runs 4 worker threads per CPU; 8 per CPU with a
    floor of 32 honours any Parallel or ForEach `concurrent` up to 32 on a small machine, while still bounding a
    `concurrent: 0` fan-out of thousands of processes.
    """
    return max(32, 8 * (os.cpu_count() or 1))


@dataclass
class RunOptions:
    """How to run one execution of a flow: its inputs, labels, trigger and where it comes from."""

    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    home: str | None = None
    trigger: dict[str, Any] | None = None
    listeners: list[Any] = field(default_factory=list)
    max_parallel: int | None = None
    parent_id: str | None = None
    strict_inputs: set[str] = field(default_factory=set)  # supplied input ids that must be declared (typed by the user)
    trigger_depth: int = 0  # how many Flow triggers led to this execution (a chain deeper than a cap is cut)
    mocks: list[Any] = field(default_factory=list)  # flowrun.engine.mocks.TaskMock: tasks a unit test stands in for
