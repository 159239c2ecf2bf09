"""Small core tasks that check or change the execution: execution.Assert, SetVariables and UnsetVariables,
metric.Publish and storage.Write."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from flowrun.errors import TaskError
from flowrun.model.base import Strict
from flowrun.tasks.base import RunContext, Task


class Assert(Task):
    """Render each of `conditions`; one that is falsy ("", "false", "0", "-0", null) or fails to render is a failed
    assertion, logged as an error. Any failed assertion fails the task ("N assertion(s) failed!", then
    `errorMessage`). Metrics `success` and `failed` count them."""

    conditions: list[str]
    error_message: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.templating.truth import is_true

        failed = 0
        for condition in self.conditions:
            try:
                passed = is_true(ctx.render(condition))
            except TaskError as exc:
                ctx.logger.error(f"Assertion `{condition}` failed, failed to render `{exc}`")
                passed = None
            if passed is False:
                ctx.logger.error(f"Assertion `{condition}` failed!")
            failed += not passed
        ctx.metric("success", "counter", float(len(self.conditions) - failed))
        ctx.metric("failed", "counter", float(failed))
        if failed:
            extra = f"\n{ctx.render(self.error_message)}" if self.error_message else ""
            raise TaskError(f"{failed} assertion{'s' if failed > 1 else ''} failed!{extra}")
        return {}


class SetVariables(Task):
    """Render `variables` and deep-merge them into the execution's `vars`, seen by the tasks that run after it;
    with `overwrite: false` (default true) a name that already exists fails the task. The result is recorded with
    the execution (`Execution.variables`): a task on a Celery worker, a resume and a restart see it."""

    remote: ClassVar[bool] = False  # it changes the execution in the orchestrating process

    variables: dict[str, Any]
    overwrite: bool | str = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        values = ctx.render(self.variables)  # strings rendered as text, as Kestra renders them
        overwrite = ctx.render(self.overwrite)
        ctx.set_variables(values, overwrite is True or str(overwrite).lower() == "true")
        return {}


class UnsetVariables(Task):
    """Remove `variables` (names or dotted paths, as `a.b`) from the execution's `vars`; `ignoreMissing` (default
    false) skips a path whose parent is not a map instead of failing."""

    remote: ClassVar[bool] = False  # it changes the execution in the orchestrating process

    variables: list[str]
    ignore_missing: bool = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        ctx.unset_variables([str(ctx.render(name)) for name in self.variables], self.ignore_missing)
        return {}


class MetricEntry(Strict):
    """One metric of metric.Publish: a `counter` (added up) or a `timer` (a duration, `PT1S`, or seconds)."""

    type: Literal["counter", "timer"]
    name: str
    value: Any
    tags: dict[str, Any] | None = None


class Publish(Task):
    """Publish `metrics` (each `type` counter or timer, `name`, `value`, `tags`) on this task run, as a task's own
    metrics are; names, values and tags are rendered."""

    metrics: list[MetricEntry]

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.durations import parse_duration

        for metric in self.metrics:
            value = ctx.render(metric.value)
            if metric.type == "timer" and isinstance(value, str) and value.upper().startswith("P"):
                number = parse_duration(value).total_seconds()
            else:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise TaskError(f"metric `{metric.name}`: `{value}` is not a number") from None
            tags = {str(k): str(ctx.render(v)) for k, v in (metric.tags or {}).items()}
            ctx.metric(str(ctx.render(metric.name)), metric.type, number, tags)
        return {}


class Write(Task):
    """Write the rendered `content` to a new internal-storage file (name ending in `extension`, default `.tmp`).
    Output: `uri`."""

    content: str
    extension: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        content = str(ctx.render(self.content))
        extension = str(ctx.render(self.extension)) if self.extension else ".tmp"
        path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}{extension}")
        path.write_bytes(content.encode("utf-8"))
        return {"uri": uri}
