"""The execution's variables (`vars`) as SetVariables and UnsetVariables change them while it runs.

As in Kestra, they start as the flow's `variables`; a set deep-merges into them and an unset removes a name or a
dotted path. The result is the execution's own (`Execution.variables`), recorded with it as Kestra records an
execution's variables: a task attempt that a Celery worker runs, a resume and a restart render with them.
"""

from __future__ import annotations

import copy
from typing import Any

from flowrun.errors import TaskError


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`; nested maps are merged, not replaced (Kestra's MapUtils.deepMerge)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def set_variables(executor: Any, values: dict[str, Any], overwrite: bool) -> None:
    with executor.lock:
        current = executor.base_vars.get("vars") or {}
        existing = [key for key in values if key in current]
        if existing and not overwrite:
            raise TaskError("`overwrite` is set to false and the following variables already exist: "
                            + ",".join(existing))
        executor.base_vars["vars"] = executor.execution.variables = deep_merge(current, values)
    executor.bus.execution_updated(executor.execution)


def unset_variables(executor: Any, names: list[str], ignore_missing: bool) -> None:
    with executor.lock:
        variables = copy.deepcopy(executor.base_vars.get("vars") or {})
        for name in names:
            _remove(variables, name, ignore_missing, name)
        executor.base_vars["vars"] = executor.execution.variables = variables
    executor.bus.execution_updated(executor.execution)


def _remove(variables: dict[str, Any], key: str, ignore_missing: bool, full: str) -> None:
    head, _, rest = key.partition(".")
    if not rest:
        variables.pop(head, None)
        return
    inner = variables.get(head)
    if not isinstance(inner, dict):
        if ignore_missing:
            return
        raise TaskError(f"variable `{full}` cannot be unset: `{head}` is not a map of this execution's variables "
                        "(set ignoreMissing: true to skip it)")
    _remove(inner, rest, ignore_missing, full)
