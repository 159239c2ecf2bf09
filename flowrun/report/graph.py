"""Draws a validated flow's topology: a terminal tree, a Mermaid flowchart or a Graphviz DOT digraph; with the
states of an execution, each task coloured by its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowrun.model.flow import child_groups
from flowrun.report.palette import colour_of

if TYPE_CHECKING:
    from flowrun.model.flow import Flow
    from flowrun.tasks.base import Task

States = dict[str, str]
#: type names whose last segment alone is ambiguous (shell.Commands vs python.Commands)
_GENERIC = {"Commands", "Script", "Query", "Queries", "Request", "Download", "Set", "Get", "Delete", "GetKeys",
            "CopyIn", "CopyOut"}
#: flowables whose children start together rather than one after the other
_FAN_OUT = {"Parallel", "EachParallel"}
_BRANCHING = {"If", "Switch"}
#: the flow-level groups, with the label drawn for them
FLOW_GROUPS = (("tasks", "tasks"), ("errors", "errors"), ("finally_", "finally"),
               ("after_execution", "afterExecution"))


def short_type(type_name: str) -> str:
    """`io.kestra.plugin.core.flow.If` -> `If`; `io.kestra.plugin.scripts.shell.Commands` -> `shell.Commands`."""
    parts = type_name.split(".")
    if len(parts) > 1 and parts[-1] in _GENERIC:
        return ".".join(parts[-2:])
    return parts[-1]


def group_label(name: str) -> str:
    """A child group's display name: `else_` -> `else`, `cases.FIRST` -> `case FIRST`."""
    if name.startswith("cases."):
        return "case " + name[len("cases."):]
    return name.rstrip("_")


def dag_nodes(task: Task) -> list[tuple[Task, list[str]]]:
    """A Dag's (task, dependsOn) pairs; empty for any other task."""
    nodes = getattr(task, "tasks", None) if short_type(task.type) == "Dag" else None
    return [(node.task, list(node.depends_on)) for node in nodes or []]


def task_groups(task: Task) -> list[tuple[str, list[Task]]]:
    """Every named child list of a task, the Dag's graph tasks included (as group `tasks`)."""
    groups = child_groups(task)
    dag = dag_nodes(task)
    if dag and all(name != "tasks" for name, _ in groups):
        groups = [("tasks", [child for child, _ in dag]), *groups]
    return groups


def _label(task: Task) -> str:
    text = f"{task.id} · {short_type(task.type)}"
    return text + " (disabled)" if task.disabled else text


# -- tree -------------------------------------------------------------------------------------------------
def graph_tree(flow: Flow, states: States | None = None) -> Any:
    """A `rich.tree.Tree` of the flow: groups, nested flowables, Dag dependencies and errors branches; with
    `states` (task id -> state), each task's state after it, coloured."""
    from rich.tree import Tree

    root = Tree(f"[bold]{flow.namespace}.{flow.id}[/bold]")
    for attr, label in FLOW_GROUPS:
        tasks = getattr(flow, attr)
        if not tasks:
            continue
        branch = root.add(_group_markup(label))
        for task in tasks:
            _add_tree(branch, task, {}, states or {})
    return root


def tree_text(flow: Flow, width: int = 100, states: States | None = None) -> str:
    """The tree as plain text (no colours), for pipes and tests."""
    import io

    from rich.console import Console

    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(graph_tree(flow, states))
    return console.export_text()


def _group_markup(label: str) -> str:
    if label in ("errors", "finally", "afterExecution"):
        return f"[red]{label}[/red]" if label == "errors" else f"[yellow]{label}[/yellow]"
    return f"[dim]{label}[/dim]"


def _add_tree(parent: Any, task: Task, deps: dict[str, list[str]], states: States) -> None:
    from rich.markup import escape

    text = escape(_label(task))
    if deps.get(task.id):
        text += f" [dim]← {escape(', '.join(deps[task.id]))}[/dim]"
    if task.id in states:
        state = states[task.id]
        text += f"  [{colour_of(state).style or 'default'}]{state}[/]"
    elif states:
        text += "  [dim]not run[/dim]"
    node = parent.add(f"[dim]{text}[/dim]" if task.disabled else text)
    groups = task_groups(task)
    inner_deps = {child.id: needs for child, needs in dag_nodes(task)}
    # a plain `tasks` list hangs directly under its flowable; named branches (then, case X, errors) get a node
    plain = all(group_label(name) in ("tasks", "errors") for name, _ in groups)
    for name, children in groups:
        label = group_label(name)
        holder = node if plain and label == "tasks" else node.add(_group_markup(label))
        for child in children:
            _add_tree(holder, child, inner_deps, states)


# -- graph model shared by Mermaid and DOT ----------------------------------------------------------------
@dataclass
class Node:
    key: str
    label: str
    kind: str  # "flow", "task", "flowable", "branch", "disabled"
    task_id: str = ""  # the task's id ("" for the flow's own node), to colour a node by its task runs' state


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""
    style: str = "solid"  # "solid" or "dashed" (errors / finally branches)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def add_node(self, label: str, kind: str, task_id: str = "") -> str:
        key = f"n{len(self.nodes)}"
        self.nodes.append(Node(key, label, kind, task_id))
        return key


def build_graph(flow: Flow) -> Graph:
    """Nodes for the flow and every task; edges for order, branches, fan-out, Dag dependencies and errors."""
    graph = Graph()
    root = graph.add_node(f"{flow.namespace}.{flow.id}", "flow")
    for attr, label in FLOW_GROUPS:
        tasks = getattr(flow, attr)
        if tasks:
            style = "solid" if attr == "tasks" else "dashed"
            _add_sequence(graph, root, tasks, "" if attr == "tasks" else label, style)
    return graph


def _add_sequence(graph: Graph, parent: str, tasks: list[Task], label: str, style: str) -> list[str]:
    """Chain `tasks` one after the other below `parent`; returns their node keys."""
    keys: list[str] = []
    previous = parent
    for index, task in enumerate(tasks):
        key = _add_task(graph, task)
        if index == 0:
            graph.edges.append(Edge(previous, key, label, style))
        else:
            graph.edges.append(Edge(previous, key, "", style))
        keys.append(key)
        previous = key
    return keys


def _add_task(graph: Graph, task: Task) -> str:
    kind = "disabled" if task.disabled else ("branch" if short_type(task.type) in _BRANCHING else
                                             "flowable" if getattr(task, "flowable", False) else "task")
    key = graph.add_node(_label(task), kind, task.id)
    dag = dag_nodes(task)
    if dag:
        keys = {child.id: _add_task(graph, child) for child, _ in dag}
        for child, needs in dag:
            if not needs:
                graph.edges.append(Edge(key, keys[child.id]))
            for dep in needs:
                if dep in keys:
                    graph.edges.append(Edge(keys[dep], keys[child.id]))
    kind_name = short_type(task.type)
    for name, children in task_groups(task):
        label = group_label(name)
        if dag and label == "tasks":
            continue  # drawn above, with its dependency edges
        style = "dashed" if label == "errors" else "solid"
        if label == "tasks" and kind_name in _FAN_OUT:
            for child in children:
                graph.edges.append(Edge(key, _add_task(graph, child)))
            continue
        if label == "tasks":
            label = "each" if kind_name.startswith(("ForEach", "EachSequential")) else ""
        _add_sequence(graph, key, children, label, style)
    return key


# -- Mermaid ----------------------------------------------------------------------------------------------
_MERMAID_SHAPES = {"flow": ('(["', '"])'), "branch": ('{"', '"}'), "flowable": ('[["', '"]]'),
                   "task": ('["', '"]'), "disabled": ('["', '"]')}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def graph_mermaid(flow: Flow, states: States | None = None) -> str:
    """A Mermaid `flowchart TD`: flowables as subroutine boxes, If/Switch as rhombi, errors as dashed links;
    with `states`, one class per state filling its tasks."""
    graph = build_graph(flow)
    lines = ["flowchart TD"]
    for node in graph.nodes:
        left, right = _MERMAID_SHAPES[node.kind]
        lines.append(f"    {node.key}{left}{_mermaid_text(node.label)}{right}")
    for edge in graph.edges:
        arrow = "-.->" if edge.style == "dashed" else "-->"
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    disabled = [n.key for n in graph.nodes if n.kind == "disabled"]
    if disabled:
        lines.append("    classDef disabled stroke-dasharray: 4 4,color:#888")
        lines.append(f"    class {','.join(disabled)} disabled")
    for state, keys in _nodes_by_state(graph, states or {}).items():
        lines.append(f"    classDef {state.lower()} fill:{colour_of(state).light}")
        lines.append(f"    class {','.join(keys)} {state.lower()}")
    return "\n".join(lines) + "\n"


def _nodes_by_state(graph: Graph, states: States) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node.task_id in states:
            found.setdefault(states[node.task_id], []).append(node.key)
    return found


# -- DOT --------------------------------------------------------------------------------------------------
_DOT_SHAPES = {"flow": 'shape=oval, style=bold', "branch": "shape=diamond", "flowable": 'shape=box, style="rounded,bold"',
               "task": "shape=box", "disabled": 'shape=box, style=dashed, fontcolor=gray'}


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_dot(flow: Flow, states: States | None = None) -> str:
    """A Graphviz `digraph`: same nodes and edges as the Mermaid chart; errors/finally edges dashed red; with
    `states`, each task filled with its state's colour."""
    graph = build_graph(flow)
    lines = [f"digraph {_dot_text(flow.namespace + '.' + flow.id)} {{", "    rankdir=TB;",
             '    node [fontname="Helvetica"];']
    states = states or {}
    for node in graph.nodes:
        fill = ""
        if node.task_id in states:
            colour = colour_of(states[node.task_id]).light
            shape = _DOT_SHAPES[node.kind].replace('style="rounded,bold"', 'style="rounded,bold,filled"')
            shape = shape.replace("style=dashed", 'style="dashed,filled"')
            shape = shape if "style=" in shape else shape + ", style=filled"
            fill = f', fillcolor="{colour}", tooltip={_dot_text(states[node.task_id])}'
            lines.append(f"    {node.key} [label={_dot_text(node.label)}, {shape}{fill}];")
            continue
        lines.append(f"    {node.key} [label={_dot_text(node.label)}, {_DOT_SHAPES[node.kind]}];")
    for edge in graph.edges:
        attrs = []
        if edge.label:
            attrs.append(f"label={_dot_text(edge.label)}")
        if edge.style == "dashed":
            attrs.append("style=dashed, color=red" if edge.label == "errors" else "style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
