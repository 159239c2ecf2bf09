"""Core runnable tasks: Log, Return, Echo, Fail, Labels, OutputValues and Sleep."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from flowrun.errors import TaskError, TaskKilled
from flowrun.tasks.base import RunContext, Task

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


def _level(value: str) -> str:
    level = value.upper()
    if level == "WARNING":
        level = "WARN"
    if level not in LEVELS:
        raise TaskError(f"level `{value}` is not one of {', '.join(LEVELS)}")
    return level


class Log(Task):
    """Log a message (or each message of a list) at a level: TRACE, DEBUG, INFO (default), WARN or ERROR."""

    pure: ClassVar[bool] = True

    message: str | list[Any]
    level: str = "INFO"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.templating.output import to_output

        level = _level(str(ctx.render(self.level)))
        messages = self.message if isinstance(self.message, list) else [self.message]
        for message in messages:  # a number or boolean in the list is logged as its text (Kestra's LogTest)
            rendered = ctx.render(message) if isinstance(message, str) else message
            ctx.logger.log(level, rendered if isinstance(rendered, str) else to_output(rendered))
        return {}


class Return(Task):
    """Render `format` and return it as the output `value`."""

    pure: ClassVar[bool] = True

    format: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        start = time.perf_counter()
        value = ctx.render(self.format) if self.format is not None else None
        ctx.metric("length", "counter", float(len(value)) if isinstance(value, str) else 0.0)
        ctx.metric("duration", "timer", time.perf_counter() - start)
        return {"value": value}


class Echo(Task):
    """Deprecated: log the rendered `format` at `level`."""

    pure: ClassVar[bool] = True

    format: str
    level: str = "INFO"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        ctx.logger.log(_level(str(ctx.render(self.level))), str(ctx.render(self.format)))
        return {}


class Fail(Task):
    """Fail the execution, always or when `condition` renders truthy."""

    condition: Any = None
    error_message: str = "Task failure"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.templating.truth import is_true

        message = str(ctx.render(self.error_message))
        if self.condition is None:
            raise TaskError(message)
        if is_true(ctx.render(self.condition)):
            raise TaskError(message)
        return {}


class Labels(Task):
    """Add or overwrite execution labels (a map, a list of {key, value}, or a JSON object string)."""

    remote: ClassVar[bool] = False  # it changes the execution in the orchestrating process

    labels: dict[str, Any] | list[dict[str, Any]] | str

    def run(self, ctx: RunContext) -> dict[str, Any]:
        raw = self.labels
        if isinstance(raw, str):
            try:
                raw = json.loads(str(ctx.render(raw)))
            except json.JSONDecodeError as exc:
                raise TaskError(f"labels must render to a JSON object: {exc}") from None
        pairs = raw.items() if isinstance(raw, dict) else [(i.get("key"), i.get("value")) for i in raw]
        labels: dict[str, str] = {}
        for key, value in pairs:
            key = str(ctx.render(key))
            if key.startswith("system."):
                raise TaskError(f"label `{key}`: keys starting with `system.` are reserved")
            rendered = ctx.render(value)
            labels[key] = rendered if isinstance(rendered, str) else json.dumps(rendered)
        ctx.add_labels(labels)
        return {}


class OutputValues(Task):
    """Render `values` recursively, keeping types, and expose them as `outputs.<id>.values`."""

    pure: ClassVar[bool] = True

    values: dict[str, Any]

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return {"values": ctx.render_typed(self.values)}


#: the longest single wait of a Sleep. CPython runs signal handlers in the main thread only, and a process-wide
#: SIGINT may be delivered to another thread (a heartbeat's): the main thread sees it when its wait ends.
WAIT_SLICE_S = 0.25


class Sleep(Task):
    """Wait for `duration` (ISO-8601, e.g. PT15S). Ctrl-C or a timeout interrupts it."""

    duration: str

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.durations import parse_duration

        try:
            seconds = parse_duration(str(ctx.render(self.duration))).total_seconds()
        except ValueError as exc:
            raise TaskError(f"duration: {exc}") from None
        deadline = time.monotonic() + seconds
        while True:  # in slices: a Ctrl-C the kernel hands to another thread runs its handler only between them
            left = deadline - time.monotonic()
            if ctx.cancel.wait(max(0.0, min(left, WAIT_SLICE_S))):
                raise TaskKilled()
            if left <= WAIT_SLICE_S:
                return {}
