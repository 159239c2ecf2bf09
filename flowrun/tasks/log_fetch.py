"""Kestra's log.Fetch: the log lines of this execution (or another one) into an Ion file of internal storage."""

from __future__ import annotations

import uuid
from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.props import choice, strings, text


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """One line shaped as Kestra's LogEntry, null fields included as Kestra's Ion mapper writes them."""
    from flowrun.ion import Instant

    try:
        stamp: Any = Instant.fromisoformat(row["timestamp"])
    except (TypeError, ValueError):
        stamp = row["timestamp"]
    return {
        "tenantId": None, "namespace": row["namespace"], "flowId": row["flow_id"], "taskId": row["task_id"],
        "executionId": row["execution_id"], "taskRunId": row["task_run_id"], "attemptNumber": row["attempt"],
        "triggerId": None, "timestamp": stamp, "level": row["level"], "thread": None, "message": row["message"],
        "deleted": False, "executionKind": None,
    }


class Fetch(Task):
    """Write the logs of an execution to an Ion file, one line per log entry: `uri` is the file, `size` the
    number of lines. By default the current execution; `executionId` names another one of this flow, or of the
    flow given by `namespace` and `flowId` (both, and only with `executionId`). `tasksId` keeps the lines of
    those tasks (in that order), `level` (default INFO) the lines at that level or above."""

    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    tasks_id: list[str] | str | None = None
    level: str = "INFO"

    def _target(self, ctx: RunContext) -> tuple[str, str, str]:
        namespace, flow_id = text(ctx, self.namespace), text(ctx, self.flow_id)
        if self.execution_id is None:
            if namespace is not None or flow_id is not None:
                raise TaskError(f"task `{ctx.task_id}`: `namespace` and `flowId` can only be set with `executionId`",
                                {"hint": "add executionId, or remove namespace and flowId"})
            return ctx.namespace, ctx.flow_id, ctx.execution_id
        execution_id = str(ctx.render(self.execution_id))
        if (namespace is None) != (flow_id is None):
            raise TaskError(f"task `{ctx.task_id}`: set both `namespace` and `flowId` with `executionId`, or neither",
                            {"hint": "without them, the execution is looked for in the current flow"})
        return namespace or ctx.namespace, flow_id or ctx.flow_id, execution_id

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.ion import IonLineWriter
        from flowrun.state.log_search import LEVELS

        namespace, flow_id, execution_id = self._target(ctx)
        level = choice(ctx, self.level, "level", LEVELS)
        task_ids = strings(ctx, self.tasks_id, "tasksId")
        db = ctx.services().db
        if not db.execution_exists(namespace, flow_id, execution_id):
            ctx.logger.warn(f"no execution `{execution_id}` of flow {namespace}.{flow_id}: no log lines fetched")
        rows = db.find_logs(namespace, flow_id, execution_id, level, task_ids)
        path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}.ion")
        with open(path, "w", encoding="utf-8") as stream:
            writer = IonLineWriter(stream)
            for row in rows:
                writer.write(_entry(row))
        return {"uri": uri, "size": writer.count}
