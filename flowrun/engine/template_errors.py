"""Run-time template errors as task errors that name the task, the property and the flow file:line, with a hint."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.document import Path_
from flowrun.templating import TemplateError, render, render_typed
from flowrun.templating.errors import EvalError, MissingError


class _Failed(Exception):
    def __init__(self, error: TemplateError, leaf: str) -> None:
        self.error, self.leaf = error, leaf


def render_located(runtime: Any, value: Any, variables: Mapping[str, Any], typed: bool, flow: Any,
                   trigger_set: bool = True) -> Any:
    """`render_value`, with a failure reported as a TaskError located in the flow file.

    The task is the one named by `variables["task"]` (absent for flow outputs)."""
    try:
        return _render(runtime, value, variables, typed)
    except _Failed as failed:
        task = variables.get("task")
        task_id = task.get("id") if isinstance(task, Mapping) else None
        raise template_task_error(failed.error, failed.leaf, flow, task_id, trigger_set) from None


def _render(runtime: Any, value: Any, variables: Mapping[str, Any], typed: bool) -> Any:
    if isinstance(value, str):
        try:
            return render_typed(value, variables, runtime) if typed else render(value, variables, runtime)
        except TemplateError as exc:
            raise _Failed(exc, value) from None
    if isinstance(value, Mapping):
        return {_render(runtime, k, variables, False): _render(runtime, v, variables, typed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_render(runtime, v, variables, typed) for v in value]
    return value


def template_task_error(exc: TemplateError, leaf: str, flow: Any, task_id: str | None,
                        trigger_set: bool) -> TaskError:
    """The TaskError for a template that failed while rendering the string `leaf` of task `task_id`."""
    from flowrun.templating.check import syntax_message  # the checker is imported only once a template failed

    nested = bool(exc.template) and exc.template != leaf  # failed inside render() of another templated value
    text = _plain_message(exc)
    line = exc.line or syntax_message(exc.message, exc.template)[1]
    where = _where(flow, task_id, leaf, 0 if nested else line)
    if nested:
        inner = _describe(flow, _find(flow, exc.template, ()), line)
        if inner:
            text += f" (from {inner})"
    advice = _trigger_advice(exc, flow) if not trigger_set else None
    if advice:
        text += f"; {advice}"
    hint = template_hint(exc)
    return TaskError(f"{where}template error: {text}", {"hint": hint} if hint else {})


def _plain_message(exc: TemplateError) -> str:
    """The engine's message without the whole template echoed: the failing template line instead."""
    from flowrun.templating.check import syntax_message

    text, _ = syntax_message(exc.message, exc.template)
    missing = re.match(r"(Unable to find `[^`]*`) used in the expression .* at line \d+$", text, re.S)
    if missing:
        lines = exc.template.split("\n")
        shown = lines[min(max(exc.line, 1), len(lines)) - 1].strip()
        text = f"{missing.group(1)} in `{shown[:160]}`"
    return text


def _where(flow: Any, task_id: str | None, leaf: str, line: int) -> str:
    parts = []
    if task_id is not None:
        parts.append(f"task `{task_id}`")
    start = flow.task_paths.get(task_id, ()) if task_id is not None and flow is not None else ()
    path = _find(flow, leaf, start) if start else None
    if path is None and flow is not None:
        path = _find(flow, leaf, ())
    described = _describe(flow, path, line) if path is not None else None
    if described:
        parts.append(f"property {described}")
    return ", ".join(parts) + ": " if parts else ""


def _describe(flow: Any, path: Path_ | None, line: int) -> str | None:
    """`labels.file` at flows/x.yaml:27:13 for a document path, relative to its task when inside one."""
    if path is None or flow is None or flow.document is None:
        return None
    from flowrun.model.flow_templates import format_path
    from flowrun.model.scalar_spans import ScalarSpans

    position = ScalarSpans(flow.document.text).position(path, max(line, 1), 1) or flow.document.locate(path)
    task_path = max((p for p in flow.task_paths.values() if path[: len(p)] == p), key=len, default=None)
    shown = format_path(path[len(task_path):] if task_path else path)
    file = _shown(str(flow.path or flow.document.file))
    return f"`{shown}` at {file}:{position[0]}:{position[1]}" if position[0] else f"`{shown}` in {file}"


def _shown(file: str) -> str:
    """A flow file as the user would type it: relative to the working dir when it lies below it."""
    import os

    try:
        relative = os.path.relpath(file)
    except ValueError:
        return file
    return file if relative.startswith("..") else relative


def _find(flow: Any, source: str, start: Path_) -> Path_ | None:
    """The document path of the string `source`, searched under `start` first (its task)."""
    if flow is None or flow.document is None:
        return None
    node: Any = flow.document.data
    for part in start:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return next((path for path, value in _leaves(node, start) if value == source), None)


def _leaves(node: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def template_hint(exc: TemplateError) -> str | None:
    """The advice that fits a template error: printContext() for an undefined name, syntax for bad syntax."""
    cause = exc.__cause__
    if isinstance(cause, MissingError):
        return "list the names in scope with {{ printContext() }}, or guard the name with `??` or `is defined`"
    if isinstance(cause, EvalError):
        return None
    return "fix the template syntax (`flowrun validate` checks every template written in the flow)"


def _trigger_advice(exc: TemplateError, flow: Any) -> str | None:
    """For a flow run by hand that reads `trigger`: how to run it as one of its schedules would."""
    cause = exc.__cause__
    if not isinstance(cause, MissingError) or cause.name not in ("trigger", "schedule") or flow is None:
        return None
    from flowrun.templating.check import analyze

    reads = [r.text for r in analyze(exc.template).reads(cause.name) if r.chain] or [cause.name]
    return manual_run_advice(flow, reads[0])


def manual_run_advice(flow: Any, read: str) -> str:
    """`this flow reads trigger.date; run one occurrence with --trigger ID --date D, or use flowrun backfill`."""
    from datetime import UTC, datetime

    from flowrun.schedule.plan import schedule_specs

    try:
        specs = schedule_specs(flow)
    except FlowrunError:  # an unusable schedule: fall back to the generic advice
        specs = []
    for spec in specs:
        moment = spec.previous_before(datetime.now(UTC)) or spec.next_after(datetime.now(UTC))
        if moment is not None:
            date = moment.astimezone(spec.zone).strftime("%Y-%m-%dT%H:%M:%S")
            return (f"this flow reads {read}; run one occurrence with --trigger {spec.trigger.id} --date {date}, "
                    "or use flowrun backfill")
    if flow.triggers:
        return f"this flow reads {read}; run it as one of its triggers would with --trigger {flow.triggers[0].id}"
    return f"this flow reads {read}, which only a trigger or a Subflow task sets"
