"""Template functions (`render`, `kv`, `secret`, `read`, `fileURI`, `fromJson`, …); `FUNCTIONS` is the registry."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from . import dates
from . import operators as ops
from .errors import EvalError, TemplateError
from .limits import charge

MAX_RENDERING_ATTEMPTS = 100


def _render_string(env: Any, text: str, recursive: bool) -> str:
    from .template import get_template

    context = env.context()
    current = text
    for _ in range(MAX_RENDERING_ATTEMPTS):
        previous = current
        if "{" in previous:
            current = get_template(previous).render(context, env.runtime, env.depth + 1, env.budget)
        if not recursive or current == previous:
            return current
    raise EvalError(f"Too many rendering attempts for `{text}`")


def _render_any(env: Any, value: Any, recursive: bool) -> Any:
    if isinstance(value, str):
        return _render_string(env, value, recursive)
    if isinstance(value, Mapping):
        return {_render_any(env, k, recursive): _render_any(env, v, recursive) for k, v in value.items()}
    if ops.is_list(value):
        return [_render_any(env, v, recursive) for v in value]
    return value


def render(env: Any, toRender: Any = None, recursive: Any = True) -> Any:  # noqa: N803
    """Render a value (string, or every string in a map/list) with the current context."""
    return _render_any(env, toRender, bool(recursive))


def render_once(env: Any, toRender: Any = None) -> Any:  # noqa: N803
    return _render_any(env, toRender, False)


def _runtime(env: Any, name: str) -> Any:
    if env.runtime is None:
        raise EvalError(f"Function `{name}` is not available here")
    return env.runtime


def kv(env: Any, key: Any = None, namespace: Any = None, errorOnMissing: Any = False) -> Any:  # noqa: N803
    if key is None:
        raise EvalError("The 'kv' function expects an argument 'key'.")
    return _runtime(env, "kv").kv(str(key), None if namespace is None else str(namespace), bool(errorOnMissing))


def secret(env: Any, key: Any = None, *_: Any, **__: Any) -> Any:
    if key is None:
        raise EvalError("The 'secret' function expects an argument 'key'.")
    return _runtime(env, "secret").secret(str(key))


def read(env: Any, path: Any = None, *_: Any, **__: Any) -> Any:
    if path is None:
        raise EvalError("The 'read' function expects an argument 'path'.")
    return _runtime(env, "read").read(str(path))


def file_size(env: Any, path: Any = None, *_: Any, **__: Any) -> Any:
    return _runtime(env, "fileSize").file_size(str(path))


def file_exists(env: Any, path: Any = None, *_: Any, **__: Any) -> Any:
    return _runtime(env, "fileExists").file_exists(str(path))


def is_file_empty(env: Any, path: Any = None, *_: Any, **__: Any) -> Any:
    return _runtime(env, "isFileEmpty").is_file_empty(str(path))


def _optional(env: Any, *keys: str) -> Any:
    value: Any = env.context()
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def file_uri(env: Any, path: Any = None, namespace: Any = None) -> str:
    """`kestra:///<namespace as path>/_files/<path>` for a namespace file."""
    if path is None:
        raise EvalError("The 'fileURI' function expects an argument 'path'.")
    text = str(path)
    if ".." in text.replace("\\", "/").split("/"):
        raise EvalError(f"Path must not contain '..': {text}")
    ns = namespace if namespace is not None else _optional(env, "flow", "namespace")
    if ns is None:
        raise EvalError("fileURI needs a flow namespace in the context")
    return f"kestra:///{str(ns).replace('.', '/')}/_files/{text.lstrip('/')}"


_ABSENT: Any = object()  # a required argument not given at all (an explicit null is a value)


def _required(function: str, argument: str, value: Any, named: dict[str, Any]) -> Any:
    """The argument given by position or by its name; Kestra's error when neither is given."""
    if value is _ABSENT:
        value = named.get(argument, _ABSENT)
    if value is _ABSENT:
        raise EvalError(f"The '{function}' function expects an argument '{argument}'.")
    return value


def from_json(env: Any, json_text: Any = _ABSENT, *_: Any, **named: Any) -> Any:
    json_text = _required("fromJson", "json", json_text, named)
    if json_text is None:
        return None
    try:
        return json.loads(str(json_text))
    except ValueError as exc:
        raise EvalError(f"Invalid json: {exc}") from exc


def from_yaml(env: Any, yaml_text: Any = None, *_: Any, **__: Any) -> Any:
    if yaml_text is None:
        return None
    import yaml

    from flowrun.errors import InvalidFlowError
    from flowrun.model.yaml_nodes import check_node_graph

    loader = yaml.CSafeLoader(str(yaml_text)) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(str(yaml_text))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        charge(5 * check_node_graph(node, "yaml()"))  # no recursive alias or alias bomb; ~5 µs a value
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise EvalError(f"Invalid yaml: {exc}") from exc
    except InvalidFlowError as exc:
        raise EvalError(f"Invalid yaml: {exc.problems[0]}") from None
    finally:
        loader.dispose()


def from_ion(env: Any, ion_text: Any = _ABSENT, *_: Any, **named: Any) -> Any:
    """The first Ion value of the text, or (`allRows=true`) the list of them all, as Kestra's fromIon."""
    ion_text = _required("fromIon", "ion", ion_text, named)
    if ion_text is None:
        return None
    from amazon.ion import simpleion

    try:
        values = simpleion.loads(str(ion_text), single_value=False)
    except Exception as exc:  # noqa: BLE001 - the ion library raises bare exceptions
        raise EvalError(f"Invalid ion: {exc}") from exc
    if named.get("allRows") is True:
        return [_plain_ion(v) for v in values]
    return _plain_ion(values[0]) if values else None


def _plain_ion(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain_ion(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_ion(v) for v in value]
    if getattr(value, "ion_type", None) is not None and type(value).__name__ == "IonPyNull":
        return None
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    return value


def current_each_output(env: Any, outputs: Any = None) -> Any:
    """Pick this iteration's outputs: walk `parents[*].taskrun.value` from the outermost, then `taskrun.value`."""
    parents = _optional(env, "parents") or []
    current = outputs
    for parent in reversed(list(parents)):
        value = (parent.get("taskrun") or {}).get("value") if isinstance(parent, Mapping) else None
        if value is not None and isinstance(current, Mapping) and value in current:
            current = current[value]
    value = _optional(env, "taskrun", "value")
    if value is not None and isinstance(current, Mapping) and value in current:
        current = current[value]
    return current


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _uuid(env: Any) -> str:
    import uuid  # ~3 ms (it imports platform): only for the templates that call uuid()

    return str(uuid.uuid4())


def friendly_id(env: Any) -> str:
    """A Kestra-style id: a random UUID written in base 62 (22 characters)."""
    import uuid

    number, out = uuid.uuid4().int, []
    while number:
        number, rest = divmod(number, 62)
        out.append(_BASE62[rest])
    return "".join(reversed(out)).rjust(22, "0")


def random_int(env: Any, lower: Any = None, upper: Any = None) -> int:
    if not (ops.is_number(lower) and ops.is_number(upper)):
        raise EvalError("The 'randomInt' function expects 'lower' and 'upper' numbers")
    low, high = int(lower), int(upper)
    if low > high:
        raise EvalError("'lower' must be lower than 'upper'")
    import random

    return low if low == high else random.randrange(low, high)


def _extreme(env: Any, *values: Any, pick_max: bool) -> Any:
    best = None
    for value in values:
        if best is None or (ops.compare(">" if pick_max else "<", value, best)):
            best = value
    return best


def range_function(env: Any, start: Any = None, end: Any = None, step: Any = 1) -> list[Any]:
    return ops.value_range(start, end, step)


def tasks_with_state(env: Any, state: Any = None) -> list[dict[str, Any]]:
    """Task runs (from the `tasks` context map) whose state equals `state`."""
    wanted, found = str(state).upper(), []
    for task_id, info in (_optional(env, "tasks") or {}).items():
        if isinstance(info, Mapping) and "state" in info:
            if str(info["state"]).upper() == wanted:
                found.append({"taskId": task_id, "state": info["state"]})
        elif isinstance(info, Mapping):
            for value, sub in info.items():
                if isinstance(sub, Mapping) and str(sub.get("state", "")).upper() == wanted:
                    found.append({"taskId": task_id, "value": value, "state": sub["state"]})
    return found


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "render": render, "renderOnce": render_once, "kv": kv, "secret": secret, "read": read,
    "fileURI": file_uri, "fileSize": file_size, "fileExists": file_exists, "isFileEmpty": is_file_empty,
    "now": dates.now_function, "fromJson": from_json, "json": from_json, "jsonDecode": from_json,
    "yaml": from_yaml, "fromIon": from_ion, "ionDecode": from_ion, "currentEachOutput": current_each_output,
    "uuid": _uuid, "id": friendly_id, "randomInt": random_int,
    "printContext": lambda env: env.context(), "fetchContext": lambda env: env.context(),
    "max": lambda env, *v: _extreme(env, *v, pick_max=True),
    "min": lambda env, *v: _extreme(env, *v, pick_max=False),
    "range": range_function, "tasksWithState": tasks_with_state,
}  # fmt: skip

__all__ = ["FUNCTIONS", "TemplateError"]
