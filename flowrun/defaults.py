"""pluginDefaults applied as Kestra applies them: prefix match, deep merge, lists concatenated, forced last."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowrun.model.flow import PluginDefault
from flowrun.tasks.registry import canonical


def deep_merge(base: Any, override: Any) -> Any:
    """Kestra's MapUtils.merge: maps merge recursively, lists concatenate, a null override keeps the base."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return [*base, *override]
    return base if override is None else override


def matches(type_name: str, default: PluginDefault) -> bool:
    names = {type_name, canonical(type_name)}
    return any(name == default.type or name.startswith(default.type) for name in names)


def apply_defaults(node: dict[str, Any], defaults: Sequence[PluginDefault]) -> tuple[dict[str, Any], set[str]]:
    """Merge the matching defaults into one plugin map; return it and the keys that only defaults supplied."""
    type_name = node.get("type")
    if not isinstance(type_name, str) or not defaults:
        return node, set()
    result = node
    for default in defaults:
        if not default.forced and matches(type_name, default):
            result = deep_merge(default.values, result)
    for default in defaults:
        if default.forced and matches(type_name, default):
            result = deep_merge(result, default.values)
    added = {key for key in result if key not in node}
    return result, added


def apply_nested(value: Any, defaults: Sequence[PluginDefault]) -> Any:
    """Apply defaults to nested plugin maps such as `taskRunner:` blocks."""
    if isinstance(value, dict):
        merged, _ = apply_defaults(value, defaults) if "type" in value else (value, set())
        return {k: apply_nested(v, defaults) for k, v in merged.items()}
    if isinstance(value, list):
        return [apply_nested(v, defaults) for v in value]
    return value
