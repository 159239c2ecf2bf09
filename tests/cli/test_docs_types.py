"""The README's Kestra compatibility section names every core task type flowrun registers."""

from __future__ import annotations

import re
from pathlib import Path

from flowrun.tasks.registry import CORE, TASKS

README = Path(__file__).resolve().parents[2] / "README.md"


def _named(text: str, family: str, name: str) -> bool:
    """`family.Name`, or `family.A/B/Name` (a group of one family)."""
    return any(name in group.split("/") for group in re.findall(rf"`{re.escape(family)}\.([A-Za-z/]+)`", text))


def test_every_registered_core_type_is_in_the_compatibility_table() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Kestra compatibility"):text.index("### Not supported")]
    missing = [name for name in TASKS if name.startswith(CORE + ".")
               and not _named(section, *name[len(CORE) + 1:].rsplit(".", 1))]
    assert missing == []
