"""Pictures: the flow topology as a tree, Mermaid and DOT, and the Gantt timeline of a recorded execution."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flowrun.load import load_flow
from flowrun.report.gantt import gantt_text
from flowrun.report.graph import graph_dot, graph_mermaid, graph_tree, tree_text

FLOW = "io.kestra.plugin.core.flow"
NESTED = f"""
id: nested
namespace: demo.graph
tasks:
  - id: start
    type: io.kestra.plugin.core.log.Log
    message: hi
  - id: check
    type: {FLOW}.If
    condition: "{{{{ true }}}}"
    then:
      - id: fan
        type: {FLOW}.Parallel
        tasks:
          - id: p1
            type: io.kestra.plugin.core.debug.Return
            format: a
          - id: p2
            type: io.kestra.plugin.core.debug.Return
            format: b
    else:
      - id: loop
        type: {FLOW}.ForEach
        values: [a, b]
        tasks:
          - id: each_log
            type: io.kestra.plugin.core.log.Log
            message: "{{{{ taskrun.value }}}}"
        errors:
          - id: loop_err
            type: io.kestra.plugin.core.log.Log
            message: oops
  - id: graph
    type: {FLOW}.Dag
    tasks:
      - task:
          id: d1
          type: io.kestra.plugin.core.log.Log
          message: "1"
      - task:
          id: d2
          type: io.kestra.plugin.core.log.Log
          message: "2"
        dependsOn: [d1]
      - task:
          id: d3
          type: io.kestra.plugin.core.log.Log
          message: "3"
        dependsOn: [d1, d2]
  - id: off
    type: io.kestra.plugin.core.log.Log
    message: never
    disabled: true
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: failed
"""


def _flow(project: Any) -> Any:
    return load_flow(Path(project.flow(NESTED)))


def test_tree_nests_flowables_and_branches(project: Any) -> None:
    text = tree_text(_flow(project))
    lines = text.splitlines()
    assert lines[0] == "demo.graph.nested"
    indent = {line.split("─ ", 1)[-1]: line.index("─") for line in lines[1:]}
    assert indent["check · If"] < indent["then"] < indent["fan · Parallel"] < indent["p1 · Return"]
    assert indent["else"] == indent["then"]
    assert indent["loop · ForEach"] < indent["each_log · Log"]
    after_log = lines[lines.index(next(line for line in lines if line.endswith("each_log · Log"))) + 1]
    assert after_log.endswith("errors") and after_log.index("─") == indent["each_log · Log"]  # loop's errors
    assert indent["loop_err · Log"] > indent["each_log · Log"]
    assert "d3 · Log ← d1, d2" in indent and "d2 · Log ← d1" in indent
    assert "off · Log (disabled)" in indent
    assert lines.index(next(line for line in lines if line.endswith("alert · Log"))) == len(lines) - 1
    assert text.count("d1 · Log") == 1
    assert type(graph_tree(_flow(project))).__name__ == "Tree"


def _mermaid_nodes(text: str) -> dict[str, str]:
    return {m.group(2): m.group(1) for m in re.finditer(r'^\s+(n\d+)\W*"([^"]+)"', text, re.M)}


def test_mermaid_edges(project: Any) -> None:
    text = graph_mermaid(_flow(project))
    assert text.startswith("flowchart TD\n")
    node = _mermaid_nodes(text)
    edges = set(re.findall(r"^\s+(n\d+) (-->|-\.->)(?:\|([^|]*)\|)? (n\d+)$", text, re.M))

    def has(src: str, dst: str, arrow: str = "-->", label: str = "") -> bool:
        return (node[src], arrow, label, node[dst]) in edges

    assert has("start · Log", "check · If")
    assert has("check · If", "fan · Parallel", label="then")
    assert has("check · If", "loop · ForEach", label="else")
    assert has("fan · Parallel", "p1 · Return") and has("fan · Parallel", "p2 · Return")
    assert not has("p1 · Return", "p2 · Return")  # parallel children are not chained
    assert has("loop · ForEach", "each_log · Log", label="each")
    assert has("loop · ForEach", "loop_err · Log", arrow="-.->", label="errors")
    assert has("graph · Dag", "d1 · Log") and has("d1 · Log", "d2 · Log")
    assert has("d1 · Log", "d3 · Log") and has("d2 · Log", "d3 · Log")
    assert not has("graph · Dag", "d2 · Log")  # only roots hang from the Dag
    assert has("demo.graph.nested", "alert · Log", arrow="-.->", label="errors")
    assert f"class {node['off · Log (disabled)']} disabled" in text
    assert re.search(r'n\d+\{"check · If"\}', text)  # branching tasks drawn as rhombi


def test_dot_matches_mermaid(project: Any) -> None:
    flow = _flow(project)
    dot = graph_dot(flow)
    assert dot.startswith('digraph "demo.graph.nested" {') and dot.rstrip().endswith("}")
    labels = dict(re.findall(r'^\s+(n\d+) \[label="([^"]+)"', dot, re.M))
    by_label = {v: k for k, v in labels.items()}
    assert set(labels.values()) == set(_mermaid_nodes(graph_mermaid(flow)))
    assert f'{by_label["check · If"]} -> {by_label["fan · Parallel"]} [label="then"];' in dot
    assert f'{by_label["d2 · Log"]} -> {by_label["d3 · Log"]};' in dot
    assert (f'{by_label["loop · ForEach"]} -> {by_label["loop_err · Log"]} '
            '[label="errors", style=dashed, color=red];') in dot
    assert re.search(rf'{by_label["check · If"]} \[[^]]*shape=diamond', dot)
    edge_count = len(re.findall(r"->", dot))
    assert edge_count == len(re.findall(r"-->|-\.->", graph_mermaid(flow)))


def test_gantt_of_a_recorded_execution(project: Any) -> None:
    from flowrun.app.inspect import show_execution

    path = project.flow(f"""
        id: gantt
        namespace: demo
        tasks:
          - id: par
            type: {FLOW}.Parallel
            tasks:
              - id: short
                type: {FLOW}.Sleep
                duration: PT0.1S
              - id: long
                type: {FLOW}.Sleep
                duration: PT0.3S
          - id: each
            type: {FLOW}.ForEach
            values: [x, y]
            tasks:
              - id: s
                type: {FLOW}.Sleep
                duration: PT0.1S
          - id: ko
            type: io.kestra.plugin.core.execution.Fail
    """, name="gantt.yaml")
    execution = project.run(path)
    data = show_execution(str(project.home), execution.id)
    text = gantt_text(data, width=80)
    lines = text.splitlines()
    assert len(lines) == 1 + len(data["taskRuns"]) == 8
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].strip().startswith("│0s")
    rows = {line.split("│")[0].rstrip(): line for line in lines[1:]}
    assert set(rows) == {"par", "  short", "  long", "each", "  s [x]", "  s [y]", "ko"}

    def span(label: str) -> tuple[int, int]:
        bar = rows[label].split("│")[1]
        filled = [i for i, char in enumerate(bar) if char != " "]
        return filled[0], filled[-1]

    assert span("  short")[1] < span("  long")[1]  # the long sleep ends later
    assert span("  s [x]")[1] <= span("  s [y]")[0] + 1  # sequential groups follow each other
    assert span("each")[0] >= span("par")[1] - 1
    assert "FAILED" in rows["ko"] and "▓" in rows["ko"] and "SUCCESS" in rows["par"]


def test_gantt_marks_running_task_runs() -> None:
    data = {"startDate": "2024-01-01T00:00:00Z", "endDate": None, "taskRuns": [
        {"id": "a", "taskId": "done", "state": "SUCCESS", "startDate": "2024-01-01T00:00:00Z",
         "endDate": "2024-01-01T00:00:10Z"},
        {"id": "b", "taskId": "busy", "parentTaskRunId": None, "state": "RUNNING",
         "startDate": "2024-01-01T00:00:05Z", "endDate": None},
    ]}
    lines = gantt_text(data, width=60).splitlines()
    assert lines[0].rstrip().endswith("10.00s│")
    assert lines[2].split("│")[1].rstrip().endswith(">")
    assert "RUNNING" in lines[2]
    assert gantt_text({"taskRuns": []}) == "(no task runs)\n"
