"""Flow `outputs`: rendered once when the execution ends, then coerced to their declared type."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError

if TYPE_CHECKING:
    from flowrun.tasks.runner import Runner


def coerce(kind: str, value: Any, output_id: str) -> Any:
    kind = kind.upper()
    try:
        if value is None or kind in ("STRING", "SECRET", "EMAIL", "URI", "FILE", "SELECT", "ENUM"):
            return value if value is None else (value if isinstance(value, str) else json.dumps(value))
        if kind == "INT":
            return int(value)
        if kind == "FLOAT":
            return float(value)
        if kind in ("BOOLEAN", "BOOL"):
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind in ("JSON", "ARRAY", "MULTISELECT"):
            return json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError) as exc:
        raise TaskError(f"output `{output_id}`: expected {kind} but received `{value}` ({exc})") from None
    return value


def render_flow_outputs(outputs: list[Any], executor: Runner, variables: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for output in outputs:
        try:
            value = executor.render(output.value, variables, typed=True)
        except TaskError as exc:
            raise TaskError(f"output `{output.id}`: {exc.message}") from None
        result[output.id] = coerce(output.type, value, output.id)
        if output.type.upper() == "SECRET" and isinstance(result[output.id], str):
            executor.services.masker.add(result[output.id])
    return result
