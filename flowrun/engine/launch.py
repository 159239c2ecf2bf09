"""How to run one execution of a flow: the options the engine and the schedulers hand to `start_execution`."""

from __future__ import annotations

import os
from typing import Any

from flowrun.plain import Plain


def default_max_parallel() -> int:
    """The global cap on running task attempts when neither `--max-parallel` nor `maxParallel` is set.

    Generous on purpose: most tasks wait on I/O (subprocesses, databases, HTTP), so a flow's own `concurrent`
    must not be cut by a CPU-based default. Kestra's server runs 4 worker threads per CPU; 8 per CPU with a
    floor of 32 honours any Parallel or ForEach `concurrent` up to 32 on a small machine, while still bounding a
    `concurrent: 0` fan-out of thousands of processes.
    """
    return max(32, 8 * (os.cpu_count() or 1))


class RunOptions(Plain):
    """How to run one execution of a flow: its inputs, labels, trigger and where it comes from."""

    FIELDS = ("inputs", "labels", "home", "trigger", "listeners", "max_parallel", "parent_id", "strict_inputs",
              "trigger_depth", "mocks")

    def __init__(self, inputs: dict[str, Any] | None = None, labels: dict[str, str] | None = None,
                 home: str | None = None, trigger: dict[str, Any] | None = None, listeners: list[Any] | None = None,
                 max_parallel: int | None = None, parent_id: str | None = None, strict_inputs: set[str] | None = None,
                 trigger_depth: int = 0, mocks: list[Any] | None = None) -> None:
        self.inputs: dict[str, Any] = {} if inputs is None else inputs
        self.labels: dict[str, str] = {} if labels is None else labels
        self.home = home
        self.trigger = trigger
        self.listeners: list[Any] = [] if listeners is None else listeners
        self.max_parallel = max_parallel
        self.parent_id = parent_id
        #: supplied input ids that must be declared (typed by the user)
        self.strict_inputs: set[str] = set() if strict_inputs is None else strict_inputs
        #: how many Flow triggers led to this execution (a chain deeper than a cap is cut)
        self.trigger_depth = trigger_depth
        #: flowrun.engine.mocks.TaskMock: tasks a unit test stands in for
        self.mocks: list[Any] = [] if mocks is None else mocks
