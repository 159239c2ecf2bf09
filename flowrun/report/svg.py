"""Draws an execution's Gantt and a flow's topology (coloured by task-run state) as standalone SVG markup."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from flowrun.report.gantt import _depths
from flowrun.report.graph import build_graph
from flowrun.report.palette import colour_of, task_states
from flowrun.report.timing import parse_date, seconds_text

if TYPE_CHECKING:
    from flowrun.model.flow import Flow

ROW, LABEL_W, BAR_W = 24, 260, 620
NODE_W, NODE_H, GAP_X, GAP_Y = 210, 34, 24, 40


def colour(state: str | None) -> str:
    return colour_of(state).solid


def _span(data: dict[str, Any]) -> tuple[datetime | None, float]:
    runs = data.get("taskRuns") or []
    dates = [parse_date(tr.get(k)) for tr in runs for k in ("startDate", "endDate")]
    dates += [parse_date(data.get("startDate")), parse_date(data.get("endDate"))]
    known = [d for d in dates if d is not None]
    if not known:
        return None, 1.0
    return min(known), max((max(known) - min(known)).total_seconds(), 1e-3)


def gantt_svg(data: dict[str, Any]) -> str:
    """One row per task run (indented under its parent), one bar per attempt, coloured by state, on one time axis.

    `data` is `flowrun.app.inspect.show_execution` data. A run without attempts (a flowable) is one bar over its
    own span; one still running is drawn up to the latest known date."""
    runs = list(data.get("taskRuns") or [])
    origin, span = _span(data)
    depths = _depths(runs)
    height = ROW * (len(runs) + 1) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="{LABEL_W + BAR_W + 90}" '
           f'height="{height}" role="img" aria-label="Gantt of the task runs">',
           f'<text x="{LABEL_W}" y="14" class="axis">0s</text>',
           f'<text x="{LABEL_W + BAR_W}" y="14" class="axis" text-anchor="end">{seconds_text(span)}</text>']
    for row, run in enumerate(runs, start=1):
        y = row * ROW
        label = "\u00a0\u00a0" * depths.get(str(run.get("id")), 0) + str(run.get("taskId"))
        if run.get("value") not in (None, ""):
            label += f" [{run['value']}]"
        out.append(f'<g class="run" data-task="{escape(str(run.get("taskId")))}" data-state="{escape(str(run.get("state")))}">'
                   f'<text x="4" y="{y + 16}" class="label">{escape(label[:40])}</text>')
        pieces = run.get("attempts") or [{"state": run.get("state"), "startDate": run.get("startDate"),
                                          "endDate": run.get("endDate")}]
        for number, piece in enumerate(pieces, start=1):
            out.append(_bar(piece, origin, span, y, number if run.get("attempts") else 0))
        took = _took(run, origin, span)
        out.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 16}" class="took">{escape(took)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _took(run: dict[str, Any], origin: datetime | None, span: float) -> str:
    start, end = parse_date(run.get("startDate")), parse_date(run.get("endDate"))
    if start is None:
        return "-"
    if end is None:
        return "running"
    return seconds_text((end - start).total_seconds())


def _bar(piece: dict[str, Any], origin: datetime | None, span: float, y: int, attempt: int) -> str:
    start, end = parse_date(piece.get("startDate")), parse_date(piece.get("endDate"))
    if start is None or origin is None:
        return ""
    left = (start - origin).total_seconds() / span * BAR_W
    right = ((end - origin).total_seconds() if end else span) / span * BAR_W
    width = max(right - left, 2.0)
    state = str(piece.get("state") or "")
    title = f"attempt {attempt}: {state}" if attempt else state
    return (f'<rect x="{LABEL_W + left:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" rx="3" '
            f'fill="{colour(state)}"><title>{escape(title)}</title></rect>')


# -- topology ---------------------------------------------------------------------------------------------
def _layers(keys: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's depth: the longest path to it from the root (the graph is acyclic; bounded anyway)."""
    depth = {key: 0 for key in keys}
    for _ in range(len(keys)):
        changed = False
        for source, target in edges:
            if depth[target] < depth[source] + 1:
                depth[target], changed = depth[source] + 1, True
        if not changed:
            break
    return depth


def topology_svg(flow: Flow, states: dict[str, str] | None = None) -> str:
    """The flow's graph (flowrun.report.graph) laid out in rows, each task node filled with its state's colour.

    `states` maps a task id to the state it shows (`flowrun.report.palette.task_states`); nodes of tasks that did not run stay white."""
    graph = build_graph(flow)
    states = states or {}
    edges = [(e.source, e.target) for e in graph.edges]
    depth = _layers([n.key for n in graph.nodes], edges)
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(depth[node.key], []).append(node.key)
    widest = max(len(keys) for keys in rows.values())
    width = widest * (NODE_W + GAP_X) + GAP_X
    place: dict[str, tuple[float, float]] = {}
    for level, keys in rows.items():
        offset = (width - len(keys) * (NODE_W + GAP_X) + GAP_X) / 2
        for index, key in enumerate(keys):
            place[key] = (offset + index * (NODE_W + GAP_X), GAP_Y / 2 + level * (NODE_H + GAP_Y))
    height = (max(rows) + 1) * (NODE_H + GAP_Y)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="{width:.0f}" height="{height:.0f}" '
           'role="img" aria-label="Topology of the flow">']
    for edge in graph.edges:
        (x1, y1), (x2, y2) = place[edge.source], place[edge.target]
        dash = ' stroke-dasharray="5 4"' if edge.style == "dashed" else ""
        out.append(f'<line x1="{x1 + NODE_W / 2:.1f}" y1="{y1 + NODE_H:.1f}" x2="{x2 + NODE_W / 2:.1f}" '
                   f'y2="{y2:.1f}" stroke="#888"{dash}/>')
        if edge.label:
            out.append(f'<text x="{(x1 + x2) / 2 + NODE_W / 2 + 4:.1f}" y="{(y1 + NODE_H + y2) / 2:.1f}" '
                       f'class="edge">{escape(edge.label)}</text>')
    for node in graph.nodes:
        x, y = place[node.key]
        state = states.get(node.task_id)
        fill = colour(state) if state else ("#eef3fb" if node.kind == "flow" else "#ffffff")
        title = f"{node.label}: {state}" if state else node.label
        dashed = ' stroke-dasharray="4 3"' if node.kind == "disabled" else ""
        out.append(f'<g class="node" data-task="{escape(node.task_id)}" data-state="{escape(state or "")}">'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
                   f'stroke="#555"{dashed}/>'
                   f'<text x="{x + 8:.1f}" y="{y + 21:.1f}" class="node">{escape(node.label[:30])}</text>'
                   f'<title>{escape(title)}</title></g>')
    out.append("</svg>")
    return "".join(out)


def latest_states(data: dict[str, Any]) -> dict[str, str]:
    """Task id -> the state each task shows in `data` (`show_execution` data)."""
    return task_states(data.get("taskRuns") or [])
