"""What the engine and the schedulers ask of the layer above to start an execution: its options and a callable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flowrun.engine.model import Execution
    from flowrun.engine.services import Services


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


class PreparedRun(Protocol):
    """An execution that exists (validated flow, resolved inputs) and has not run yet."""

    execution: Execution
    services: Services

    def run(self) -> Execution:
        """Run the execution to its end (or its pause) and return it."""
        ...


#: `start_execution(flow_ref, options)`: validate the flow and resolve its inputs, raising `FlowrunError` when
#: that fails (nothing ran); handed down by `flowrun.app` to subflows, Flow triggers and schedule runners.
StartExecution = Callable[[str, RunOptions], PreparedRun]
