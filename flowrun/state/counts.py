"""Counts of executions per flow, by states and start-date range (Kestra's `executionCounts`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flowrun.state.sqlbase import SqlBase

if TYPE_CHECKING:
    from flowrun.state.records import FlowCount

class SqliteCounts(SqlBase):
    def execution_counts(self, flows: list[tuple[str, str]] | None, namespaces: list[str] | None,
                         states: list[str] | None, start: datetime | None, end: datetime | None) -> list[FlowCount]:
        return _counts(self, flows, namespaces, states, start, end)


def _counts(db: SqlBase, flows: list[tuple[str, str]] | None, namespaces: list[str] | None,
            states: list[str] | None, start: datetime | None, end: datetime | None) -> list[FlowCount]:
    from flowrun.state.records import FlowCount

    sql = "SELECT namespace, flow_id, COUNT(*) AS n FROM executions WHERE 1=1"
    params: list[object] = []
    if states:
        sql += f" AND state IN ({', '.join('?' * len(states))})"
        params += states
    if start is not None:
        sql += " AND start_date >= ?"
        params.append(_text(start))
    if end is not None:
        sql += " AND start_date <= ?"
        params.append(_text(end))
    found = {(row["namespace"], row["flow_id"]): row["n"]
             for row in db.query(sql + " GROUP BY namespace, flow_id", tuple(params))}
    result = [FlowCount(ns, flow_id, found.get((ns, flow_id), 0)) for ns, flow_id in flows or []]
    listed = set(flows or [])
    for (ns, flow_id), count in sorted(found.items()):
        if (ns, flow_id) not in listed and any(ns == n or ns.startswith(n + ".") for n in namespaces or []):
            result.append(FlowCount(ns, flow_id, count))
    return result


def _text(moment: datetime) -> str:
    from flowrun.model.execution import iso

    return iso(moment) or ""
