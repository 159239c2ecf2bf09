"""The import graph of flowrun/: no cycle outside the templating interpreter (every import counts)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "flowrun"

#: Import edges ignored when looking for cycles, each a known back-call to remove. It held the api <->
#: schedule/flow_trigger edge (api.run_prepared fired the Flow triggers, whose _fire called api.run_flow) until
#: the use-case layer (flowrun/app) replaced api.py; add an edge here only with the issue that removes it.
KNOWN_BACK_EDGES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Every flowrun module `name` imports: top level, in functions and under TYPE_CHECKING alike."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in found if target in known and target != name}


@cache
def _graph() -> dict[str, frozenset[str]]:
    paths = modules()
    known = set(paths)
    return {name: frozenset(imported(name, path, known)) for name, path in paths.items()}


def import_graph() -> dict[str, set[str]]:
    """Module -> the flowrun modules it imports (a fresh copy each call)."""
    return {name: set(targets) for name, targets in _graph().items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def outside_templating(component: list[str]) -> bool:
    return any(not name.startswith("flowrun.templating") for name in component)


def test_the_walker_sees_function_level_and_type_checking_imports() -> None:
    graph = import_graph()
    assert "flowrun.engine.subflow" in graph["flowrun.tasks.flowable"]  # inside Subflow.execute
    assert "flowrun.tasks.runner" in graph["flowrun.tasks.flowable"]  # under TYPE_CHECKING
    assert "flowrun.templating.errors" in graph["flowrun.templating.functions"]  # relative import


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_known_back_edges_still_exist() -> None:
    graph = import_graph()
    stale = [edge for edge in KNOWN_BACK_EDGES if edge[1] not in graph[edge[0]]]
    assert stale == [], f"these imports are gone: remove them from KNOWN_BACK_EDGES: {stale}"


def test_no_import_cycle_outside_templating() -> None:
    graph = import_graph()
    for source, target in KNOWN_BACK_EDGES:
        graph[source].discard(target)
    found = [" -> ".join(component) for component in cycles(graph) if outside_templating(component)]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_the_engine_modules_are_in_no_circle_even_with_the_known_edge() -> None:
    engine = {name for name in import_graph() if name.startswith("flowrun.engine.")}
    assert {"flowrun.engine.context", "flowrun.engine.executor"} <= engine
    for component in cycles(import_graph()):
        assert not engine & set(component), component


def test_tasks_and_the_task_context_depend_on_the_runner_protocol_not_on_the_executor() -> None:
    graph = import_graph()
    importers = sorted(name for name, targets in graph.items() if "flowrun.engine.executor" in targets)
    assert importers == ["flowrun.app.execute"]  # only the use case that builds the executor
    assert "flowrun.tasks.runner" in graph["flowrun.engine.context"]
