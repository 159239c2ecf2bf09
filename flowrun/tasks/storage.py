"""Storage tasks: PurgeCurrentExecutionFiles deletes this execution's internal-storage files."""

from __future__ import annotations

from typing import Any

from flowrun.tasks.base import RunContext, Task


class PurgeCurrentExecutionFiles(Task):
    """Delete every file under the execution's storage prefix (task outputs, inputs, trigger files)."""

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.storage.internal import execution_prefix

        prefix = execution_prefix(ctx.namespace, ctx.flow_id, ctx.execution_id)
        uris = ctx.services().storage.delete_prefix(prefix)
        ctx.logger.info(f"deleted {len(uris)} file(s)")
        return {"uris": uris}
