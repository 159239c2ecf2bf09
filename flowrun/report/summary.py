"""The closing summary of a run: its state, duration, failed tasks with their error's first line, flow outputs."""

from __future__ import annotations

import json
from typing import Any

from flowrun.model.execution import FAILED_LIKE, Execution, TaskRun
from flowrun.report.live_rows import elapsed_seconds, state_name
from flowrun.report.timing import seconds_text


def first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def summary_lines(execution: Execution, outputs: dict[str, Any]) -> list[str]:
    """The summary as plain lines; `outputs` are the flow outputs as they may be shown (secrets masked)."""
    took = seconds_text(elapsed_seconds(execution.start_date, execution.end_date))
    lines = [f"{state_name(execution.state)} in {took}  {execution.namespace}/{execution.flow_id}  {execution.id}"]
    failed = _failed_runs(execution)
    if failed:
        lines.append("failed tasks:")
        for taskrun in failed:
            value = f"[{taskrun.value}]" if taskrun.value is not None else ""
            lines.append(f"  {taskrun.task_id}{value}: {first_line(taskrun.error) or state_name(taskrun.state)}")
    elif execution.error:
        lines.append(f"error: {first_line(execution.error)}")
    if outputs:
        lines.append("outputs:")
        lines += [f"  {key} = {_shown(value)}" for key, value in outputs.items()]
    return lines


def _failed_runs(execution: Execution) -> list[TaskRun]:
    """The failed task runs, less a flowable that failed only because a child did (it has no error of its own)."""
    failed = [tr for tr in execution.task_runs if tr.state in FAILED_LIKE]
    parents = {tr.parent_id for tr in failed}
    return [tr for tr in failed if tr.error or tr.id not in parents]


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
