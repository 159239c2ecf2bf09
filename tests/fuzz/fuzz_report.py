"""Summarize a FLOWRUN_FUZZ_REPORT file: one line per failure class, with its count and shortest reproducer.

Usage: python tests/fuzz/fuzz_report.py REPORT.jsonl
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections import defaultdict
from typing import Any

_INTERNAL = re.compile(r"internal error: (\w+)")


def failure_class(row: dict[str, Any]) -> str:
    """Target, violations and (for an internal error) the exception type: what one fix would remove."""
    found = _INTERNAL.search(row.get("stderr", ""))
    kind = f" {found.group(1)}" if found else ""
    return f"{row['target']}: {'; '.join(row['violations'])}{kind}"


def reproducer(row: dict[str, Any]) -> str:
    command = "flowrun " + " ".join(shlex.quote(a) for a in row["argv"])
    return command + "".join(f"\n      file {name}: {text[:200]!r}" for name, text in row["files"].items())


def summarize(rows: list[dict[str, Any]]) -> list[str]:
    classes: dict[tuple[str | None, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        classes[(row.get("known"), failure_class(row))].append(row)
    lines = []
    for (known, name), members in sorted(classes.items(), key=lambda kv: (kv[0][0] is not None, kv[0][1])):
        shortest = min(members, key=lambda r: len(reproducer(r)))
        label = f"known: {known}" if known else "NEW"
        lines.append(f"{len(members):>5} x [{label}] {name}\n    $ {reproducer(shortest)}")
    return lines


def main(path: str) -> None:
    try:
        with open(path, encoding="utf-8") as report:
            rows = [json.loads(line) for line in report if line.strip()]
    except FileNotFoundError:
        rows = []
    print(f"{len(rows)} failing case(s)")
    print("\n".join(summarize(rows)))


if __name__ == "__main__":
    main(sys.argv[1])
