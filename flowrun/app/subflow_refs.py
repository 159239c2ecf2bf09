"""A flow's static Subflow references checked against the project's flows, as validation warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowrun.errors import InvalidFlowError, Problem
from flowrun.load import read_yaml
from flowrun.model.flow import Flow
from flowrun.model.flow_templates import SUBFLOW_TRIGGER_VARS, trigger_reads
from flowrun.validate import flow_position


def check_subflows(flow: Flow, find_flow: Any, flows_dir: Path | None = None) -> list[Problem]:
    """Warnings for static Subflow references: a target missing from the project (Kestra resolves it at run
    time), or a target that reads `trigger` variables a Subflow call does not set."""
    problems = []
    for task in flow.all_tasks():
        namespace, flow_id = getattr(task, "namespace", None), getattr(task, "flow_id", None)
        if not task.type.endswith(("flow.Subflow", "flows.Subflow", "flows.Flow", "flow.Flow")):
            continue
        if not isinstance(namespace, str) or not isinstance(flow_id, str) or "{{" in namespace + flow_id:
            continue
        line, column = flow_position(flow, task.id)
        target = find_flow(namespace, flow_id)
        if target is None:
            looked = f"among the flows under {flows_dir}" if flows_dir else "among the project's flows"
            message = (f"subflow {namespace}/{flow_id} is not {looked}; "
                       "the task fails at run time unless the flow is there by then")
        else:
            reads = _subflow_trigger_reads(target)
            if not reads:
                continue
            message = (f"subflow {namespace}/{flow_id} reads `{'`, `'.join(reads)}`, which a Subflow call does not "
                       f"set (it sets trigger.{', trigger.'.join(SUBFLOW_TRIGGER_VARS)})")
        problems.append(Problem(message, file=flow.path, line=line, column=column, where=f"task `{task.id}`",
                                severity="warning"))
    return problems


def _subflow_trigger_reads(path: Path) -> list[str]:
    try:
        doc = read_yaml(path)
    except InvalidFlowError:
        return []
    return [ref for ref in trigger_reads(doc) if ref.split(".")[1:2] and ref.split(".")[1] not in SUBFLOW_TRIGGER_VARS]
