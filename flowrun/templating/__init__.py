"""Public API of flowrun's Pebble-compatible template engine: `render`, `render_typed`, `render_value`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .errors import TemplateError

__all__ = ["Runtime", "TemplateError", "render", "render_typed", "render_value"]


class Runtime(Protocol):
    """Hooks for the functions that reach the outside world; any of them may raise TemplateError."""

    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any: ...

    def secret(self, key: str) -> str: ...

    def read(self, path: str) -> str: ...

    def file_size(self, uri: str) -> int: ...

    def file_exists(self, path: str) -> bool: ...

    def is_file_empty(self, path: str) -> bool: ...


def get_template(template: str) -> Any:
    """The compiled template (the compiler is imported on first use: a run whose strings hold no template, like
    a cached hello, never imports it; its node classes alone are ~12 ms of import time)."""
    from .template import get_template as compiled

    return compiled(template)


def render(template: str, context: Mapping[str, Any], runtime: Runtime | None = None) -> str:
    """Render in string mode (one pass). Strings without `{` come back untouched."""
    if "{" not in template:
        return template
    return get_template(template).render(context, runtime)


def render_typed(template: str, context: Mapping[str, Any], runtime: Runtime | None = None) -> Any:
    """Typed mode: a template that is exactly one `{{ expr }}` returns the native value."""
    if "{" not in template:
        return template
    stripped = template.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        compiled = get_template(stripped)
        if compiled.single is not None:
            return compiled.evaluate(context, runtime)
    return get_template(template).render(context, runtime)


def render_value(
    value: Any, context: Mapping[str, Any], runtime: Runtime | None = None, typed: bool = False
) -> Any:
    """Render every string inside dicts (keys too) and lists; other scalars are left alone."""
    if isinstance(value, str):
        return render_typed(value, context, runtime) if typed else render(value, context, runtime)
    if isinstance(value, Mapping):
        return {
            render_value(k, context, runtime, False): render_value(v, context, runtime, typed)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [render_value(v, context, runtime, typed) for v in value]
    return value
