"""`webhook`: a request to a flow's Webhook trigger (matched by its `key`) starts one execution of the flow."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowrun.app.run import Run
from flowrun.project import open_project


@dataclass
class WebhookMatch:
    """The flow file and the Webhook trigger a request's key names."""

    path: Path
    flow: Any
    trigger: Any


def find_webhook(home: str | None, namespace: str, flow_id: str, key: str) -> WebhookMatch | None:
    """The enabled Webhook trigger of flow NAMESPACE/FLOW_ID whose rendered `key` is `key`; None when the flow
    is missing, invalid or disabled, or no trigger has that key (Kestra answers 404)."""
    from flowrun.errors import FlowrunError
    from flowrun.load import load_flow
    from flowrun.model.triggers import Webhook
    from flowrun.schedule.plan import render_for

    project = open_project(home)
    path = project.find_flow(namespace, flow_id)
    if path is None:
        return None
    try:
        flow = load_flow(path, project.config.plugin_defaults)
    except FlowrunError:
        return None
    if flow.doc.disabled:
        return None
    for trigger in flow.triggers:
        if not isinstance(trigger, Webhook) or trigger.disabled:
            continue
        try:
            expected = str(render_for(flow, trigger.id, trigger.key, None)).strip()
        except FlowrunError:
            continue
        if hmac.compare_digest(expected.encode(), key.encode()):
            return WebhookMatch(path, flow, trigger)
    return None


def webhook_variables(request: dict[str, Any]) -> dict[str, Any]:
    """The `trigger` variables of a webhook execution: body, headers, parameters (as Kestra names them)."""
    return {"body": request.get("body"), "headers": request.get("headers") or {},
            "parameters": request.get("parameters") or {}}


def start_webhook_execution(home: str | None, namespace: str, flow_id: str, key: str,
                            request: dict[str, Any]) -> Run | None:
    """The prepared execution of the flow's Webhook trigger for one request (inputs and labels rendered with
    `trigger`), or None when the trigger's conditions do not hold (Kestra answers 204)."""
    from flowrun.app.run import RunOptions, start_execution
    from flowrun.errors import UsageError
    from flowrun.schedule.conditions import ConditionContext, all_true
    from flowrun.schedule.plan import render_for, trigger_labels

    match = find_webhook(home, namespace, flow_id, key)
    if match is None:
        raise UsageError(f"flow {namespace}/{flow_id} has no Webhook trigger with this key")
    variables = {**webhook_variables(request), "id": match.trigger.id, "type": match.trigger.type}
    flow = match.flow
    context = {"flow": {"id": flow.id, "namespace": flow.namespace}, "trigger": variables}
    if not all_true(match.trigger.conditions, ConditionContext(context)):
        return None
    inputs = render_for(flow, match.trigger.id, match.trigger.inputs or {}, variables)
    labels = trigger_labels(flow, match.trigger, variables)
    options = RunOptions(inputs=dict(inputs), labels=labels, home=home, trigger=variables)
    return start_execution(str(match.path), options)
