"""Rendering one dynamic task property to the type Kestra declares (boolean, integer, text, list, enum)."""

from __future__ import annotations

import json
from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext


def flag(ctx: RunContext, value: Any, name: str) -> bool:
    """A boolean property: true/false, or an expression rendering to one."""
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, bool):
        return rendered
    if isinstance(rendered, str) and rendered.strip().lower() in ("true", "false"):
        return rendered.strip().lower() == "true"
    raise TaskError(f"task `{ctx.task_id}`: `{name}` must be true or false, got {rendered!r}")


def integer(ctx: RunContext, value: Any, name: str, minimum: int = 1) -> int:
    """An integer property (at least `minimum`), or an expression rendering to one."""
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    try:
        if isinstance(rendered, bool) or (isinstance(rendered, float) and not rendered.is_integer()):
            raise ValueError
        number = int(str(rendered).strip()) if isinstance(rendered, str) else int(rendered)
    except (TypeError, ValueError):
        raise TaskError(f"task `{ctx.task_id}`: `{name}` must be an integer, got {rendered!r}") from None
    if number < minimum:
        raise TaskError(f"task `{ctx.task_id}`: `{name}` must be at least {minimum}, got {number}")
    return number


def text(ctx: RunContext, value: Any) -> str | None:
    """A string property rendered (None stays None)."""
    return None if value is None else str(ctx.render(value))


def choice(ctx: RunContext, value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """An enum property: one of `allowed` (case-insensitive, as Jackson reads Kestra's enums)."""
    rendered = str(ctx.render(value)).strip().upper()
    if rendered not in allowed:
        raise TaskError(f"task `{ctx.task_id}`: `{name}` must be one of {', '.join(allowed)}, got {rendered!r}")
    return rendered


def strings(ctx: RunContext, value: Any, name: str) -> list[str]:
    """A list-of-strings property: a list (each item rendered), one string, or an expression rendering to a
    list or to a JSON array."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in ctx.render(value)]
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, str) and rendered.strip().startswith("["):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise TaskError(f"task `{ctx.task_id}`: `{name}` is not a valid JSON array: {exc}") from None
    if isinstance(rendered, list):
        return [str(item) for item in rendered]
    if isinstance(rendered, str):
        return [rendered]
    raise TaskError(f"task `{ctx.task_id}`: `{name}` must be a string or a list of strings, got {rendered!r}")


def mapping(ctx: RunContext, value: Any, name: str) -> dict[str, Any]:
    """A map property: a map (keys and values rendered), or an expression rendering to a map or a JSON object."""
    if isinstance(value, dict):
        return dict(ctx.render(value))
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise TaskError(f"task `{ctx.task_id}`: `{name}` must be a map or a JSON object: {exc}") from None
    if not isinstance(rendered, dict):
        raise TaskError(f"task `{ctx.task_id}`: `{name}` must be a map, got {type(rendered).__name__}")
    return rendered
