"""Renders one execution as a self-contained HTML page: inline CSS and SVG, no script, no network request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowrun.report.labels import shown_labels
from flowrun.report.timing import seconds_text, span_text

HERE = Path(__file__).parent


def stylesheet() -> str:
    """The stylesheet shared by reports and the web UI."""
    return (HERE / "style.css").read_text(encoding="utf-8")


def template_env(directory: Path) -> Any:
    """A sandboxed Jinja2 environment over `directory` (then the report's own templates, which the web UI
    includes too) with autoescape on (every value is escaped)."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(loader=FileSystemLoader([str(directory), str(HERE / "templates")]), autoescape=True, undefined=StrictUndefined)
    env.globals.update(duration=span_text, pretty=pretty, dbt_nodes=dbt_nodes, dbt_counts=dbt_counts)
    return env


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False) if value not in (None, {}, []) else "-"


def dbt_nodes(ex: dict[str, Any]) -> list[dict[str, Any]]:
    """The dbt nodes of an execution, in the order dbt ran them: the child task runs a dbt task reports
    (flowrun/dbt/nodes.py), known by their parent task run and the `uniqueId` of their outputs. Each row:
    its dbt task, node id, resource type, dbt status and flowrun state, duration, rows affected, relation,
    message (the error of a failed node)."""
    runs = {run["id"]: run for run in ex.get("taskRuns") or []}
    nodes = []
    for run in runs.values():
        parent, outputs = runs.get(run.get("parentTaskRunId")), run.get("outputs")
        if parent is None or not isinstance(outputs, dict) or not outputs.get("uniqueId"):
            continue
        node = str(outputs["uniqueId"])
        seconds = outputs.get("executionTime")
        nodes.append({
            "task": parent["taskId"], "node": node, "state": run["state"],
            "resource_type": outputs.get("resourceType") or node.split(".", 1)[0],
            "status": outputs.get("status") or run["state"].lower(),
            "duration": seconds_text(seconds) if isinstance(seconds, int | float) else span_text(
                run.get("startDate"), run.get("endDate")),
            "rows": outputs.get("rowsAffected"), "relation": outputs.get("relation"),
            "message": run.get("error") or outputs.get("message"),
        })
    return nodes


def dbt_counts(nodes: list[dict[str, Any]]) -> str:
    """`17 nodes: 15 SUCCESS, 2 FAILED`, the line above the dbt nodes table."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node["state"]] = counts.get(node["state"], 0) + 1
    return f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}: " + ", ".join(f"{n} {s}" for s, n in counts.items())


def report_html(ex: dict[str, Any], logs: list[dict[str, Any]], flow: Any = None) -> str:
    """The page of `ex` (`show_execution` data): header, Gantt, topology of `flow` coloured by state, every
    task run, inputs, outputs and `logs`."""
    from markupsafe import Markup

    from flowrun import __version__
    from flowrun.report.svg import gantt_svg, latest_states, topology_svg

    topology = topology_svg(flow, latest_states(ex)) if flow is not None else ""
    labels = shown_labels(ex.get("labels"))
    template = template_env(HERE / "templates").get_template("report.html")
    return template.render(ex=ex, logs=logs, labels=labels, css=Markup(stylesheet()),
                           gantt=Markup(gantt_svg(ex)), topology=Markup(topology), version=__version__)
