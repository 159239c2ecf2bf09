"""`render_expression`: what an expression renders to in a given context, a flow's, or a past execution's."""

from __future__ import annotations

from typing import Any

from flowrun.app.services import open_services
from flowrun.engine.launch import RunOptions
from flowrun.errors import InvalidValueError
from flowrun.project import open_project
from flowrun.state.protocol import StateStore


def render_expression(expression: str, context: dict[str, Any] | None = None, flow_ref: str | None = None,
                      inputs: dict[str, Any] | None = None, execution_id: str | None = None,
                      home: str | None = None) -> Any:
    """Render an expression from an explicit context, a flow's context, or a past execution's."""
    from flowrun.app.run import start_execution
    from flowrun.engine.context import TemplateRuntime
    from flowrun.templating import TemplateError, render

    project = open_project(home)
    variables: dict[str, Any] = dict(context or {})
    namespace = str((variables.get("flow") or {}).get("namespace", "")) if isinstance(variables.get("flow"), dict) else ""
    if flow_ref:
        prepared = start_execution(flow_ref, RunOptions(inputs=inputs or {}, home=home, strict_inputs=set(inputs or {})))
        flow, execution, services = prepared.flow, prepared.execution, prepared.services
        namespace = flow.namespace
        variables = {"flow": {"id": flow.id, "namespace": flow.namespace}, "inputs": execution.inputs,
                     "vars": flow.variables, "labels": execution.labels_map(), "envs": services.envs,
                     "globals": services.globals, "execution": {"id": execution.id}, "outputs": {}, **variables}
    else:
        services = open_services(project)
    if execution_id:
        variables = {**_execution_context(services.db, execution_id), **variables}
        namespace = variables["flow"]["namespace"]
    runtime = TemplateRuntime(services, namespace, None)
    try:
        return render(expression, variables, runtime)
    except TemplateError as exc:
        from flowrun.engine.template_errors import template_hint

        raise InvalidValueError(f"template error: {exc.message}", hint=template_hint(exc)) from None


def _execution_context(db: StateStore, execution_id: str) -> dict[str, Any]:
    from flowrun.crypto import mask_sealed
    from flowrun.state.store import get_execution

    data = get_execution(db, execution_id, mask_sealed)
    outputs: dict[str, Any] = {}
    for tr in data["taskRuns"]:
        if tr["outputs"]:
            outputs[tr["taskId"]] = tr["outputs"] if tr["value"] is None else {
                **outputs.get(tr["taskId"], {}), tr["value"]: tr["outputs"]}
    labels = {item["key"]: item["value"] for item in data["labels"]}
    context = {"flow": {"id": data["flowId"], "namespace": data["namespace"]}, "inputs": data["inputs"],
               "outputs": outputs, "labels": labels,
               "execution": {"id": data["id"], "startDate": data["startDate"], "state": data["state"]}}
    if data["trigger"]:
        context["trigger"] = data["trigger"]
    return context
