"""The read-only pages: flows, one flow, executions (filtered, paginated), one execution, backfills, KV store."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flowrun.state.liveness import ACTIVE
from flowrun.web.render import page

PAGE_SIZE = 25
#: the states in which `Kill` is offered (a KILLING execution is already being stopped)
KILLABLE = tuple(state for state in ACTIVE if state != "KILLING")


def home_of(request: Request) -> str | None:
    return request.app.state.home


async def flows_page(request: Request) -> Response:
    from flowrun.app.browse import list_flows

    search = request.query_params.get("q") or ""
    entries = await run_in_threadpool(list_flows, home_of(request), search or None)
    return page(request, "flows.html", tree=namespace_tree(entries), search=search, count=len(entries))


def namespace_tree(entries: list[Any]) -> list[dict[str, Any]]:
    """Nested namespaces (`a` holds `a.b`), each with its own flows and how many flows lie below it."""
    root: dict[str, Any] = {"children": {}, "flows": []}
    for entry in entries:
        node, path = root, []
        for part in entry.namespace.split("."):
            path.append(part)
            node = node["children"].setdefault(part, {"name": part, "namespace": ".".join(path), "children": {},
                                                      "flows": []})
        node["flows"].append(entry)

    def finish(node: dict[str, Any]) -> dict[str, Any]:
        children = [finish(child) for _, child in sorted(node["children"].items())]
        return {**node, "children": children, "total": len(node["flows"]) + sum(c["total"] for c in children)}

    return finish(root)["children"]


def trigger_rows(detail: Any) -> list[dict[str, str]]:
    """Each trigger of the flow with its next dates (schedules) or what starts it."""
    nexts = {row["trigger"]: ", ".join(row["next"]) for row in detail.schedules}
    rows = []
    for trigger in detail.flow.triggers:
        kind = str(trigger.type).rsplit(".", 1)[-1]
        text = nexts.get(trigger.id, "")
        if kind == "Webhook":
            text = f"POST /api/v1/main/executions/webhook/{detail.flow.namespace}/{detail.flow.id}/KEY"
        rows.append({"id": trigger.id, "type": kind, "next": text or "-"})
    return rows


async def flow_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    from flowrun.app.browse import flow_detail
    from flowrun.report.svg import topology_svg
    from flowrun.web.forms import fields_of

    namespace, flow_id = request.path_params["namespace"], request.path_params["flow_id"]
    detail = await run_in_threadpool(flow_detail, home_of(request), namespace, flow_id)
    context: dict[str, Any] = {"d": detail, "error": error, "fields": [], "topology": "", "triggers": []}
    if detail.flow is not None:
        context.update(fields=fields_of(detail.flow.inputs), topology=Markup(topology_svg(detail.flow)),
                       triggers=trigger_rows(detail))
    return page(request, "flow.html", status=status, **context)


def execution_query(params: Any) -> Any:
    """The executions filter of the query string (`label` is key:value; dates are whole UTC days)."""
    from flowrun.app.browse import ExecutionQuery

    label = params.get("label") or ""
    key, _, value = label.partition(":") if ":" in label else label.partition("=")
    start, end = params.get("from") or None, params.get("to") or None
    return ExecutionQuery(namespace=params.get("namespace") or None, flow_id=params.get("flow") or None,
                          states=(params["state"].upper(),) if params.get("state") else (),
                          labels=((key.strip(), value.strip()),) if label and key.strip() else (),
                          started_from=f"{start}T00:00:00" if start else None,
                          started_to=f"{end}T23:59:59.999999Z" if end else None)


async def executions_page(request: Request) -> Response:
    from flowrun.app.browse import page_executions
    from flowrun.model.execution import STATES

    params = request.query_params
    try:
        number = max(1, int(params.get("page") or 1))
    except ValueError:
        number = 1
    rows, total = await run_in_threadpool(page_executions, home_of(request), execution_query(params), number,
                                          PAGE_SIZE)
    filters = {name: params.get(name) or "" for name in ("namespace", "flow", "state", "label", "from", "to")}

    def link(to: int) -> str:
        return "/executions?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": to})

    return page(request, "executions.html", rows=rows, total=total, page=number, f=filters, states=STATES,
                pages=max(1, math.ceil(total / PAGE_SIZE)), link=link)


def output_files(outputs: Any) -> list[str]:
    """The internal-storage URIs among a task run's outputs (at any depth), for download links."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("kestra:///"):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(outputs)
    return found


def resume_specs(report: Any) -> list[Any]:
    """The `onResume` inputs of the execution's first PAUSED Pause task run (what resume will check)."""
    if report.flow is None:
        return []
    tasks = {task.id: task for task in report.flow.all_tasks()}
    for run in report.execution["taskRuns"]:
        task = tasks.get(run["taskId"])
        if run["state"] == "PAUSED" and getattr(task, "pausable", False):
            return list(task.resume_inputs())  # type: ignore[union-attr]
    return []


async def execution_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    from flowrun.app.continuation import ALLOWED
    from flowrun.app.inspect import LEVELS
    from flowrun.app.report import execution_report
    from flowrun.report.svg import gantt_svg, latest_states, topology_svg
    from flowrun.web.forms import fields_of

    report = await run_in_threadpool(execution_report, home_of(request), request.path_params["execution_id"])
    ex = report.execution
    topology = topology_svg(report.flow, latest_states(ex)) if report.flow is not None else ""
    task_ids = list(dict.fromkeys(run["taskId"] for run in ex["taskRuns"]))
    return page(request, "execution.html", status=status, ex=ex, logs=report.logs, error=error,
                gantt=Markup(gantt_svg(ex)), topology=Markup(topology), files=output_files, levels=LEVELS,
                last_log_id=max((line["id"] for line in report.logs), default=0), live=ex["state"] in ACTIVE,
                resume_fields=fields_of(resume_specs(report)) if ex["state"] == "PAUSED" else [],
                task_ids=task_ids, restartable=ALLOWED["restart"], replayable=ALLOWED["replay"],
                killable=KILLABLE)


async def fragments(request: Request) -> Response:
    """The execution's state, Gantt and coloured topology as JSON, for a live page to redraw them."""
    from starlette.responses import JSONResponse

    from flowrun.app.report import execution_report
    from flowrun.report.svg import gantt_svg, latest_states, topology_svg

    report = await run_in_threadpool(execution_report, home_of(request), request.path_params["execution_id"], False)
    ex = report.execution
    topology = topology_svg(report.flow, latest_states(ex)) if report.flow is not None else ""
    return JSONResponse({"state": ex["state"], "gantt": gantt_svg(ex), "topology": topology},
                        headers={"Cache-Control": "no-store"})


async def report_page(request: Request) -> Response:
    """The execution's self-contained HTML report (as `flowrun report --html` writes it)."""
    from flowrun.app.report import execution_report
    from flowrun.report.html import report_html

    found = await run_in_threadpool(execution_report, home_of(request), request.path_params["execution_id"])
    return HTMLResponse(report_html(found.execution, found.logs, found.flow))


async def backfills_page(request: Request) -> Response:
    from flowrun.app.backfill import list_backfills

    rows = await run_in_threadpool(list_backfills, home_of(request))
    return page(request, "backfills.html", rows=rows)


def kv_entries(home: str | None, namespace: str | None) -> tuple[list[str], str, list[dict[str, Any]]]:
    """(namespaces, the one shown, its entries with `shown`: the value, or `******` for a secret)."""
    import json

    from flowrun.app.inspect import kv_store

    store = kv_store(home)
    namespaces = store.namespaces()
    chosen = str(namespace if namespace in namespaces else (namespaces[0] if namespaces else ""))
    entries = store.list(chosen, values=True) if chosen else []
    for entry in entries:
        value = entry.pop("value", None)
        entry["shown"] = "******" if entry["secret"] else (value if isinstance(value, str) else json.dumps(value, default=str))
    return namespaces, chosen, entries


async def kv_page(request: Request) -> Response:
    namespaces, chosen, entries = await run_in_threadpool(kv_entries, home_of(request),
                                                          request.query_params.get("namespace"))
    return page(request, "kv.html", namespaces=namespaces, namespace=chosen, entries=entries)
