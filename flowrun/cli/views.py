"""Text views of recorded executions: the `executions show` page and the columns of `executions list`."""

from __future__ import annotations

import json
from typing import Any

from flowrun.report.labels import shown_labels
from flowrun.report.timing import span_text


def value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def pairs_text(values: dict[str, Any]) -> str:
    return "  ".join(f"{key}={value_text(value)}" for key, value in values.items()) or "-"


def labels_text(labels: list[dict[str, Any]] | None) -> str:
    shown = {label["key"]: label["value"] for label in shown_labels(labels)}
    return ",".join(f"{key}={value_text(value)}" for key, value in shown.items()) or "-"


def execution_lines(data: dict[str, Any]) -> list[str]:
    """The `executions show` page: header, inputs, outputs, labels, then one row per task run (nested)."""
    took = span_text(data.get("startDate"), data.get("endDate"))
    lines = [f"{data['namespace']}/{data['flowId']}  {data['id']}  {data['state']}  ({took})",
             f"  revision {data.get('flowRevision') or '-'}  start {data['startDate']}  end {data['endDate'] or '-'}",
             f"  labels   {labels_text(data.get('labels'))}",
             f"  inputs   {pairs_text(data.get('inputs') or {})}",
             f"  outputs  {pairs_text(data.get('outputs') or {})}"]
    if data.get("error"):
        lines.append(f"  error: {data['error']}")
    runs = data.get("taskRuns") or []
    if runs:
        lines.append(f"  {'STATE':<9} {'TASK':<30} {'DURATION':>9}  ATTEMPTS")
    for depth, run in _nested(runs):
        value = f" [{value_text(run['value'])}]" if run.get("value") is not None else ""
        name = "  " * depth + run["taskId"] + value
        attempts = str(len(run["attempts"])) if run.get("attempts") else "-"  # a flowable has no attempt
        workers = [a["worker"] + (" lost" if a.get("lost") else "") for a in run.get("attempts") or [] if a.get("worker")]
        attempts += f" on {', '.join(workers)}" if workers else ""  # the Celery workers that ran them
        line = f"  {run['state']:<9} {name:<30} {span_text(run.get('startDate'), run.get('endDate')):>9}  {attempts}"
        lines.append(line + (f"  error: {run['error']}" if run.get("error") else ""))
    return lines


def _nested(runs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Task runs in recorded order, each with its depth under its parent task run."""
    parents = {run["id"]: run.get("parentTaskRunId") for run in runs}
    out = []
    for run in runs:
        depth, parent, seen = 0, run.get("parentTaskRunId"), set()
        while parent in parents and parent not in seen:
            seen.add(parent)
            depth, parent = depth + 1, parents[parent]
        out.append((depth, run))
    return out
