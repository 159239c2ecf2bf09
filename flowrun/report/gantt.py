"""Draws an execution's task runs as bars on a shared time axis, as plain text for the terminal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowrun.report.timing import parse_date, seconds_text

#: bar character per state; unknown or running states fall back to `░`
BARS = {"SUCCESS": "█", "WARNING": "▒", "FAILED": "▓", "KILLED": "▓", "CANCELLED": "▓", "SKIPPED": "·",
        "PAUSED": "-", "RETRYING": "░"}
MIN_BAR = 10


def _depths(task_runs: list[dict[str, Any]]) -> dict[str, int]:
    parents = {tr.get("id"): tr.get("parentTaskRunId") for tr in task_runs}
    depths: dict[str, int] = {}
    for run_id in parents:
        depth, current, seen = 0, parents.get(run_id), set()
        while current and current in parents and current not in seen:
            seen.add(current)
            depth += 1
            current = parents.get(current)
        depths[str(run_id)] = depth
    return depths


def _label(tr: dict[str, Any], depth: int) -> str:
    value = tr.get("value")
    suffix = f" [{value}]" if value not in (None, "") else ""
    return "  " * depth + str(tr.get("taskId", "?")) + suffix


def gantt_text(execution_json: dict[str, Any], width: int = 100) -> str:
    """One line per task run (indented under its parent): label, a bar over the execution span, state, duration.

    `execution_json` is `flowrun.app.inspect.show_execution(...)`-style data: `taskRuns` with `taskId`, `value`,
    `state`, `startDate`, `endDate`, `id` and `parentTaskRunId`. A task run without an end date is drawn up to
    the latest known date and marked `>`.
    """
    task_runs = list(execution_json.get("taskRuns") or [])
    if not task_runs:
        return "(no task runs)\n"
    starts = [parse_date(tr.get("startDate")) for tr in task_runs]
    ends = [parse_date(tr.get("endDate")) for tr in task_runs]
    known = [d for d in starts + ends if d is not None]
    exec_start, exec_end = parse_date(execution_json.get("startDate")), parse_date(execution_json.get("endDate"))
    origin = min([d for d in (exec_start, *known) if d is not None])
    finish = max([d for d in (exec_end, *known) if d is not None])
    span = max((finish - origin).total_seconds(), 1e-6)
    depths = _depths(task_runs)
    labels = [_label(tr, depths.get(str(tr.get("id")), 0)) for tr in task_runs]
    label_width = min(max(len(label) for label in labels), max(12, width // 3))
    states = [str(tr.get("state") or "?") for tr in task_runs]
    state_width = max(len(s) for s in states)
    # a line is: label, " │", bar, "│ ", state, " ", duration (8)
    bar_width = max(MIN_BAR, width - label_width - state_width - 13)
    lines = [_axis(label_width, bar_width, span)]
    for label, state, start, end in zip(labels, states, starts, ends, strict=True):
        bar = _bar(start, end, origin, span, bar_width, state)
        took = seconds_text(((end or finish) - start).total_seconds()) if start else "-"
        lines.append(f"{label[:label_width].ljust(label_width)} │{bar}│ {state.ljust(state_width)} {took:>8}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _axis(label_width: int, bar_width: int, span: float) -> str:
    """The header: `0s` under the bar's left edge, the total span under its right edge, the middle between."""
    middle, total = seconds_text(span / 2), seconds_text(span)
    ruler = [" "] * bar_width
    marks = [(0, "0s"), (bar_width - len(total), total)]
    if bar_width >= len(middle) + len(total) + 10:
        marks.append((bar_width // 2 - len(middle) // 2, middle))
    for position, text in marks:
        for offset, char in enumerate(text):
            if 0 <= position + offset < bar_width:
                ruler[position + offset] = char
    return " " * label_width + " │" + "".join(ruler) + "│"


def _bar(start: datetime | None, end: datetime | None, origin: datetime, span: float, width: int,
         state: str) -> str:
    if start is None:
        return " " * width
    first = int((start - origin).total_seconds() / span * width)
    last_time = (end - origin).total_seconds() if end else span
    last = max(first + 1, round(last_time / span * width))
    first, last = min(first, width - 1), min(last, width)
    body = BARS.get(state, "░") * (last - first)
    if end is None:
        body = body[:-1] + ">"
    return " " * first + body + " " * (width - last)
