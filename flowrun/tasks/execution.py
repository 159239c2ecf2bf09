"""Execution tasks: Exit (end this execution in a state), Resume (a paused one) and Count (executions per flow)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.base import Strict
from flowrun.model.execution import State
from flowrun.model.lite import field_validator
from flowrun.tasks.base import RunContext, Task

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope

#: Exit's `state` (Kestra spells CANCELED with one L; CANCELLED is accepted too)
EXIT_STATES = {"SUCCESS": State.SUCCESS, "WARNING": State.WARNING, "KILLED": State.KILLED, "FAILED": State.FAILED,
               "CANCELED": State.CANCELLED, "CANCELLED": State.CANCELLED}


class Exit(Task):
    """End the execution now, in `state`: SUCCESS (default), WARNING, FAILED, CANCELED or KILLED.

    No task starts after it (nor `errors` or `finally`; `afterExecution` still runs); this task run and its
    parents end in that state. KILLED also stops the tasks still running in other branches; with the other
    states they run to their end, as in Kestra.
    """

    flowable: ClassVar[bool] = True
    state: str = "SUCCESS"

    @field_validator("state")
    @classmethod
    def _check_state(cls, value: str) -> str:
        if "{{" not in value and value.strip().upper() not in EXIT_STATES:
            raise ValueError(f"state `{value}` is not one of SUCCESS, WARNING, KILLED, FAILED, CANCELED")
        return value

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        text = str(ex.render(self.state, ex.task_variables(self, taskrun, scope))).strip().upper()
        if text not in EXIT_STATES:
            raise TaskError(f"state `{text}` is not one of SUCCESS, WARNING, KILLED, FAILED, CANCELED")
        ex.emit_log(taskrun, None, "INFO", f"exit: the execution ends {EXIT_STATES[text].value}")
        ex.end_execution(EXIT_STATES[text])
        return EXIT_STATES[text]


class Resume(Task):
    """Resume a PAUSED execution: `executionId`, else the latest PAUSED one of `namespace`/`flowId`, else this
    execution. Its first PAUSED Pause goes on (SUCCESS) with `inputs` as its `onResume` inputs.

    As in Kestra, where the executor continues it once this task has ended, the resumed execution continues
    separately: at the next `flowrun tick` (the cron line of `flowrun schedule cron`), which types and checks the
    inputs against the Pause's `onResume`.
    """

    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    inputs: dict[str, Any] | str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.model.execution import utcnow

        services = ctx.services()
        target = self._target(ctx, services.db)
        runs = [row for row in services.db.paused_task_runs(target["id"]) if _is_pause(row["task_type"])]
        if not runs:
            raise TaskError(f"execution {target['id']} has no PAUSED Pause task run to resume")
        inputs = ctx.render_typed(self.inputs) if self.inputs is not None else None
        if inputs is not None and not isinstance(inputs, dict):
            raise TaskError(f"inputs must render to a map, got `{inputs}`")
        sealed = services.cipher.seal(inputs) if inputs else None
        now = utcnow().replace(microsecond=0)  # due for a tick in this very second (its clock has no fraction)
        services.db.record_pause_delay(target["id"], runs[0]["id"], now, State.SUCCESS.value, sealed)
        ctx.logger.info(f"execution {target['id']} ({target['namespace']}/{target['flow_id']}): its pause "
                        f"`{runs[0]['task_id']}` resumes at the next `flowrun tick`")
        return {}

    def _target(self, ctx: RunContext, db: Any) -> Any:
        from flowrun.state.store import find_execution_row

        execution_id = ctx.render(self.execution_id) if self.execution_id else None
        namespace = ctx.render(self.namespace) if self.namespace else None
        flow_id = ctx.render(self.flow_id) if self.flow_id else None
        if not execution_id and namespace and flow_id:
            execution_id = db.latest_paused_execution(namespace, flow_id)
            if execution_id is None:
                raise TaskError(f"flow {namespace}/{flow_id} has no PAUSED execution")
        try:
            row = find_execution_row(db, execution_id or ctx.execution_id)
        except FlowrunError as exc:
            raise TaskError(exc.message) from None
        if namespace and row["namespace"] != namespace or flow_id and row["flow_id"] != flow_id:
            raise TaskError(f"execution {row['id']} belongs to {row['namespace']}/{row['flow_id']}, "
                            f"not {namespace or row['namespace']}/{flow_id or row['flow_id']}")
        if row["state"] != "PAUSED":
            raise TaskError(f"execution {row['id']} is {row['state']}: only a PAUSED execution can be resumed")
        return row


def _is_pause(task_type: str | None) -> bool:
    from flowrun.tasks.registry import canonical

    return canonical(task_type or "") == "io.kestra.plugin.core.flow.Pause"


class FlowRef(Strict):
    namespace: str
    flow_id: str


class Count(Task):
    """Count the executions of `flows` (each listed flow, 0 included) or of the flows of `namespaces` that started
    between `startDate` and `endDate` (ISO-8601), in `states`; keep the flows for which `expression` renders
    `true` (with `count` set). Outputs `results` (`namespace`, `flowId`, `count`) and their `total`."""

    flows: list[FlowRef] | None = None
    namespaces: list[str] | str | None = None
    states: list[str] | str | None = None
    start_date: str
    end_date: str | None = None
    expression: str

    def run(self, ctx: RunContext) -> dict[str, Any]:
        if self.flows is None and self.namespaces is None:
            raise TaskError("set `flows` or `namespaces`: the flows whose executions to count")
        flows = [(str(ctx.render(f.namespace)), str(ctx.render(f.flow_id))) for f in self.flows or []]
        namespaces = _texts(ctx.render_typed(self.namespaces)) if self.namespaces is not None else None
        states = [s.upper() for s in _texts(ctx.render_typed(self.states))] if self.states is not None else None
        counts = ctx.services().db.execution_counts(flows or None, namespaces, states,
                                  _moment(ctx, self.start_date, "startDate"),
                                  _moment(ctx, self.end_date, "endDate") if self.end_date else None)
        kept = [c for c in counts if str(ctx.render(self.expression, count=c.count)).strip() == "true"]
        ctx.logger.debug(f"{len(kept)} flows matching the expression")
        return {"results": [{"namespace": c.namespace, "flowId": c.flow_id, "count": c.count} for c in kept],
                "total": sum(c.count for c in kept)}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise TaskError(f"expected a list of names, got `{value}`")
    return [str(item) for item in value]


def _moment(ctx: RunContext, raw: str, name: str) -> datetime:
    text = re.sub(r"\[[^\]]*\]$", "", str(ctx.render(raw)).strip())  # ZonedDateTime text may end in [Zone]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TaskError(f"{name} `{text}` is not an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.astimezone()
