"""dbt nodes as child task runs of the dbt task: live from dbt's log, then exact from `run_results.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowrun.dbt.logs import RUNNING, NodeEvent, parse_time

#: run_results statuses (Kestra's RunResult.state), plus the newer `no-op` and `partial success`
STATES = {"success": "SUCCESS", "pass": "SUCCESS", "no-op": "SUCCESS", "warn": "WARNING",
          "partial success": "WARNING", "error": "FAILED", "fail": "FAILED", "runtime_error": "FAILED",
          "skipped": "SKIPPED"}


def node_state(status: str) -> str:
    status = status.strip().lower()
    return "RUNNING" if status in RUNNING else STATES.get(status, "WARNING")


@dataclass
class Node:
    """What is known about one node of this attempt."""

    unique_id: str
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    resource_type: str | None = None
    relation: str | None = None
    execution_time: float | None = None
    message: str | None = None
    failures: int | None = None
    rows_affected: int | None = None

    @property
    def state(self) -> str:
        return node_state(self.status)

    def outputs(self) -> dict[str, Any]:
        values = {"uniqueId": self.unique_id, "status": self.status, "resourceType": self.resource_type,
                  "relation": self.relation, "executionTime": self.execution_time, "failures": self.failures,
                  "rowsAffected": self.rows_affected, "message": self.message}
        return {k: v for k, v in values.items() if v is not None}

    def summary(self) -> str:
        """Kestra's line for a node, less the id the log line already names: `fail in 0.42s (2 failures)`."""
        text = self.status
        if self.execution_time is not None:
            text += f" in {self.execution_time:.2f}s"
        if self.failures:
            text += f" ({self.failures} failure{'s' if self.failures != 1 else ''})"
        return text


class NodeTracker:
    """Keeps one child task run per node up to date through the run context."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.nodes: dict[str, Node] = {}

    def on_event(self, event: NodeEvent) -> None:
        node = self.nodes.get(event.unique_id)
        if node is None:
            node = self.nodes[event.unique_id] = Node(event.unique_id, event.status)
        elif node.state != "RUNNING" and event.status.lower() in RUNNING:
            return  # a late "started" line never reopens a finished node
        node.status = event.status
        node.started_at = node.started_at or event.started_at
        node.finished_at = event.finished_at or node.finished_at
        node.resource_type = event.resource_type or node.resource_type
        node.relation = event.relation or node.relation
        self._report(node)

    def read_run_results(self, path: Path) -> list[Node]:
        """Apply `run_results.json` (exact status, timing and message of each node it lists)."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        generated = parse_time((doc.get("metadata") or {}).get("generated_at")) or datetime.now(UTC)
        done = []
        for result in doc.get("results") or []:
            if isinstance(result, dict) and result.get("unique_id"):
                done.append(self._apply(result, generated))
        return done

    def _apply(self, result: dict[str, Any], generated: datetime) -> Node:
        uid = str(result["unique_id"])
        node = self.nodes.get(uid) or self.nodes.setdefault(uid, Node(uid, str(result.get("status"))))
        node.status = str(result.get("status") or node.status)
        timing = [t for t in result.get("timing") or [] if isinstance(t, dict)]
        starts = [s for t in timing if (s := parse_time(t.get("started_at")))]
        ends = [e for t in timing if (e := parse_time(t.get("completed_at")))]
        node.started_at = min(starts) if starts else node.started_at or generated
        node.finished_at = max(ends) if ends else node.finished_at or generated
        node.execution_time = _number(result.get("execution_time"))
        node.message = result.get("message") or None
        node.failures = result.get("failures") if isinstance(result.get("failures"), int) else None
        node.relation = result.get("relation_name") or node.relation
        raw = result.get("adapter_response")
        adapter: dict[str, Any] = raw if isinstance(raw, dict) else {}
        rows = adapter.get("rows_affected")
        node.rows_affected = rows if isinstance(rows, int) and rows >= 0 else None
        self._report(node)
        level = {"FAILED": "ERROR", "WARNING": "WARN"}.get(node.state, "INFO")
        self.ctx.child_log(uid, level, node.summary())
        if node.message:
            self.ctx.child_log(uid, level, node.message)
        for key, metric in (("rows_affected", "rows.affected"), ("bytes_processed", "bytes.processed")):
            value = _number(adapter.get(key))
            if value is not None and value >= 0:
                self.ctx.metric(metric, "counter", value, {"node": uid})
        return node

    def _report(self, node: Node) -> None:
        error = (node.message or node.status) if node.state == "FAILED" else None
        self.ctx.report_child(node.unique_id, node.state, node.started_at, node.finished_at, node.outputs(), error)

    def failed(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.state == "FAILED"]

    def close_unfinished(self, status: str = "error") -> None:
        """Nodes still running when dbt exited (killed, crashed) end FAILED."""
        for node in self.nodes.values():
            if node.state == "RUNNING":
                node.status, node.finished_at = status, datetime.now(UTC)
                node.message = node.message or "dbt ended before this node finished"
                self._report(node)

    def summaries(self) -> list[dict[str, Any]]:
        return [node.outputs() for node in self.nodes.values()]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value) if isinstance(value, str) else None
        except ValueError:
            return None
    return float(value)
