"""How to run one execution of a flow: the options the engine and the schedulers hand to `start_execution`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
