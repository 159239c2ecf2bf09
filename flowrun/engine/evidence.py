"""A failure's evidence as log lines, formatted once: command, exit code, working dir, then the last stderr lines."""

from __future__ import annotations

import json
from typing import Any

#: the evidence keys shown first, with their label
_LEADING = (("exitCode", "exit code"), ("workingDir", "working dir"), ("interpreter", "interpreter"))
#: keys that only steer the formatting
_STEERING = ("stderrLogged",)


def evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """Indented lines under the error message: a multi-line value (the command) as an indented block, a list
    of strings joined, `stderrTail` as a block unless the task already logged its stderr, no empty line."""
    lines: list[str] = []
    if evidence.get("command"):
        lines += _block("command", str(evidence["command"]).splitlines())
    for key, label in _LEADING:
        if evidence.get(key) not in (None, "", []):
            lines.append(f"  {label}: {_inline(evidence[key])}")
    tail = [line for line in evidence.get("stderrTail") or [] if str(line).strip()]
    if tail and evidence.get("stderrLogged"):
        lines.append(f"  stderr: logged above ({len(tail)} last lines kept)")
    elif tail:
        lines += _block("last stderr lines", [str(line) for line in tail])
    shown = {"command", "stderrTail", *_STEERING, *(key for key, _ in _LEADING)}
    for key, value in evidence.items():
        if key in shown or value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else _inline(value)
        lines += _block(key, text.splitlines()) if "\n" in text else [f"  {key}: {text}"]
    return lines


def _block(label: str, body: list[str]) -> list[str]:
    return [f"  {label}:", *(f"    {line}" for line in body if line.strip())]


def _inline(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " ".join(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)
