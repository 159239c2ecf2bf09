"""The Kestra `::{...}::` stdout protocol: turn script output lines into outputs, metrics and log records."""

from __future__ import annotations

import json
import re
from typing import Any

from flowrun.plain import Plain

_LINE = re.compile(r"^::(\{.*\})::$")
LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}


class Metric(Plain):
    FIELDS = ("name", "type", "value", "tags")

    def __init__(self, name: str, type: str, value: float, tags: dict[str, str] | None = None) -> None:
        self.name = name
        self.type = type
        self.value = value
        self.tags: dict[str, str] = {} if tags is None else tags


class ProtocolMessage(Plain):
    """What one protocol line carried."""

    FIELDS = ("outputs", "metrics", "logs", "problems")

    def __init__(self, outputs: dict[str, Any] | None = None, metrics: list[Metric] | None = None,
                 logs: list[tuple[str, str]] | None = None, problems: list[str] | None = None) -> None:
        self.outputs: dict[str, Any] = {} if outputs is None else outputs
        self.metrics: list[Metric] = [] if metrics is None else metrics
        self.logs: list[tuple[str, str]] = [] if logs is None else logs
        self.problems: list[str] = [] if problems is None else problems


def parse_line(line: str) -> ProtocolMessage | None:
    """Parse a protocol line; None when the line is ordinary output to be logged as text."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    message = ProtocolMessage()
    try:
        data = json.loads(match.group(1))
    except ValueError as exc:
        message.problems.append(f"invalid JSON in a ::{{...}}:: line ({exc}): {line[:200]}")
        return message
    if not isinstance(data, dict):  # pragma: no cover - the regex only admits objects
        return message
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        message.outputs = outputs
    for raw in data.get("metrics") or []:
        metric = _metric(raw)
        if isinstance(metric, Metric):
            message.metrics.append(metric)
        else:
            message.problems.append(metric)
    for raw in data.get("logs") or []:
        if isinstance(raw, dict):
            level = str(raw.get("level", "INFO")).upper()
            level = "WARN" if level == "WARNING" else level
            message.logs.append((level if level in LEVELS else "INFO", str(raw.get("message", ""))))
    return message


def _metric(raw: Any) -> Metric | str:
    if not isinstance(raw, dict) or "name" not in raw or "value" not in raw:
        return f"ignored a malformed metric: {raw!r}"
    kind = str(raw.get("type", "counter")).lower()
    if kind not in ("counter", "timer"):
        return f"ignored metric {raw['name']!r} of unknown type {kind!r}"
    try:
        value = float(raw["value"])
    except (TypeError, ValueError):
        return f"ignored metric {raw['name']!r}: value {raw['value']!r} is not a number"
    tags = raw.get("tags") or {}
    return Metric(str(raw["name"]), kind, value, {str(k): str(v) for k, v in dict(tags).items()})


def merge_outputs(into: dict[str, Any], new: dict[str, Any]) -> None:
    """Later protocol lines merge into (and overwrite keys of) the collected `vars`."""
    into.update(new)
