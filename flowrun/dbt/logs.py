"""dbt's JSON log lines (`--log-format json`) read as flowrun log lines, node events and run statistics."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARN", "warning": "WARN", "error": "ERROR"}
#: node statuses of a node still in progress (the others are final)
RUNNING = frozenset({"started", "compiling", "executing", "running"})


@dataclass(frozen=True)
class NodeEvent:
    """What a log line says about one dbt node (`node_info`)."""

    unique_id: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    resource_type: str | None
    relation: str | None


@dataclass(frozen=True)
class DbtLine:
    """One dbt log line: its flowrun level, text, event name, node (if any) and `stats` (if any)."""

    level: str
    message: str
    name: str
    node: NodeEvent | None = None
    stats: dict[str, int] | None = None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_time(text: Any) -> datetime | None:
    """dbt's timestamps: ISO, `Z`-suffixed or naive (naive ones are UTC)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_line(line: str) -> DbtLine | None:
    """A dbt JSON log line (dbt >= 1.5 nests it in `info`, older ones do not); None for anything else."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    nested = doc.get("info")
    info: dict[str, Any] = nested if isinstance(nested, dict) else doc
    if "level" not in info or not ("msg" in info or "name" in info or "type" in info):
        return None
    raw = doc.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    level = _LEVELS.get(str(info.get("level")).lower(), "ERROR")
    message = strip_ansi(str(info.get("msg") or "")).rstrip()
    name = str(info.get("name") or info.get("type") or "")
    stats = data.get("stats")
    return DbtLine(level, message, name, _node(data.get("node_info")),
                   {str(k): int(v) for k, v in stats.items() if isinstance(v, int)} if isinstance(stats, dict) else None)


def _node(info: Any) -> NodeEvent | None:
    if not isinstance(info, dict) or not info.get("unique_id"):
        return None
    status = str(info.get("node_status") or "")
    if status in ("", "None"):  # lines about a node after its result (failure details) carry no status
        return None
    relation = info.get("node_relation")
    name = relation.get("relation_name") if isinstance(relation, dict) else None
    return NodeEvent(str(info["unique_id"]), status, parse_time(info.get("node_started_at")),
                     parse_time(info.get("node_finished_at")), info.get("resource_type"), name or None)
