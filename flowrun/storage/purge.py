"""Deleting executions for good: their state rows first (only if still finished), then their storage files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowrun.state.protocol import StateStore
from flowrun.state.records import Deleted
from flowrun.storage.internal import InternalStorage, execution_prefix


@dataclass(frozen=True)
class PurgeParts:
    """What to delete of each execution (Kestra's purgeExecution, purgeLog, purgeMetric, purgeStorage)."""

    executions: bool = True
    logs: bool = True
    metrics: bool = True
    storage: bool = True


@dataclass
class Purged:
    deleted: Deleted
    files: int

    def counts(self) -> dict[str, int]:
        return {"executions": self.deleted.executions, "taskOutputs": self.deleted.task_outputs,
                "logs": self.deleted.logs, "metrics": self.deleted.metrics, "files": self.files}


def purge_executions(db: StateStore, storage: InternalStorage, executions: Iterable[dict[str, Any]],
                     parts: PurgeParts = PurgeParts(), batch_size: int = 100) -> Purged:
    """Purge these executions (dicts with id, namespace, flowId, as `select_executions` returns them).

    An execution that is no longer finished when its batch is deleted keeps its rows and its files.
    """
    by_id = {item["id"]: item for item in executions}
    deleted = db.delete_executions(list(by_id), rows=parts.executions, logs=parts.logs, metrics=parts.metrics,
                                   batch_size=batch_size)
    files = 0
    if parts.storage:
        for execution_id in deleted.ids:
            item = by_id[execution_id]
            files += len(storage.delete_prefix(execution_prefix(item["namespace"], item["flowId"], execution_id)))
    return Purged(deleted, files)
