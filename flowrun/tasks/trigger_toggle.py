"""trigger.Toggle: enable or disable a trigger of a flow of the project, as `flowrun tick` sees it."""

from __future__ import annotations

from typing import Any

from flowrun.errors import FlowrunError, TaskError
from flowrun.tasks.base import RunContext, Task


class Toggle(Task):
    """Enable (`enabled: true`) or disable (the default, `false`) the trigger `trigger` of the flow `namespace`/
    `flowId` (default: this flow). `flowrun tick` skips a disabled trigger until it is enabled again; the flow
    must be in the project and have that trigger."""

    namespace: str | None = None
    flow_id: str | None = None
    trigger: str
    enabled: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.templating.truth import is_true

        namespace = str(ctx.render(self.namespace)) if self.namespace else ctx.namespace
        flow_id = str(ctx.render(self.flow_id)) if self.flow_id else ctx.flow_id
        trigger_id = str(ctx.render(self.trigger))
        self._check_trigger(ctx, namespace, flow_id, trigger_id)
        key = (namespace, flow_id, trigger_id)
        db = ctx.services().db
        enabled = is_true(ctx.render(self.enabled)) if isinstance(self.enabled, str) else self.enabled
        if enabled:
            db.enable_trigger(key)
        else:
            db.disable_trigger(key, f"trigger.Toggle in execution {ctx.execution_id}")
        ctx.logger.info(f"trigger `{trigger_id}` of {namespace}/{flow_id} {'enabled' if enabled else 'disabled'}")
        return {}

    @staticmethod
    def _check_trigger(ctx: RunContext, namespace: str, flow_id: str, trigger_id: str) -> None:
        from flowrun.load import load_flow

        project = ctx.services().project
        path = project.find_flow(namespace, flow_id)
        if path is None:
            raise TaskError(f"Unable to find flow {namespace}.{flow_id}: no such flow under {project.flows_dir}")
        try:
            flow = load_flow(path, project.config.plugin_defaults)
        except FlowrunError as exc:
            raise TaskError(f"flow {namespace}/{flow_id} ({path}) does not load: {exc.message}") from None
        known = [t.id for t in flow.triggers]
        if trigger_id not in known:
            raise TaskError(f"Unable to find trigger {trigger_id} for the flow {namespace}.{flow_id} "
                            f"(its triggers: {', '.join(known) or 'none'})")
