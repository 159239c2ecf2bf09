"""Kestra's TruthUtils: whether a rendered condition (`runIf`, `If`, `Fail.condition`) counts as true."""

from __future__ import annotations

from typing import Any

FALSE_TEXTS = {"", "false", "0", "-0"}


def is_true(rendered: Any) -> bool:
    """False only for "", "false", "0", "-0" (and null)."""
    if rendered is None or rendered is False:
        return False
    return str(rendered).strip() not in FALSE_TEXTS
