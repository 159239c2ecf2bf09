"""The template variables every task of an execution sees: flow, execution, inputs, vars, labels, envs, trigger."""

from __future__ import annotations

from typing import Any

from flowrun.model.execution import Execution, iso
from flowrun.model.flow import Flow


def base_variables(flow: Flow, ex: Execution, services: Any) -> dict[str, Any]:
    """The variables of the execution as a whole (a task adds its own: outputs, tasks, task, taskrun...)."""
    base: dict[str, Any] = {
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": ex.flow_revision or 1, "tenantId": None},
        "execution": {"id": ex.id, "startDate": iso(ex.start_date), "originalId": ex.original_id or ex.id,
                      "state": str(ex.state)},
        "inputs": ex.inputs,
        "vars": flow.variables if ex.variables is None else ex.variables,
        "labels": ex.labels_map(),
        "envs": services.envs,
        "globals": services.globals,
    }
    if ex.trigger is not None:
        base["trigger"] = ex.trigger
        if "date" in ex.trigger:
            base["schedule"] = ex.trigger
    return base
