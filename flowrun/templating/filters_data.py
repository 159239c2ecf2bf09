"""Kestra's data filters: JSON/YAML/Ion/jq conversion, collections, numbers and `replace`."""

from __future__ import annotations

import decimal
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from . import jregex
from . import operators as ops
from .errors import EvalError
from .limits import MAX_CHARS, MAX_ITEMS, LimitError, charge, check_chars, check_items
from .numbers import number_filter, number_format
from .output import java_str, json_datetime, to_json


def to_json_filter(env: Any, value: Any) -> str:
    return to_json(value)


def _plain(value: Any, what: str, steps_per_item: int = 0) -> Any:
    """Data as YAML/Ion/jq libraries accept it: dates become ISO strings, tuples lists.

    `what` names the text the data becomes, for the error when it would exceed the size caps; the
    render is charged `steps_per_item` for each item before the (slower) conversion runs."""
    size = [0, 0]
    data = _plain_walk(value, size, what)
    charge(size[1] * steps_per_item)
    return data


def _plain_walk(value: Any, size: list[int], what: str) -> Any:
    if isinstance(value, str):
        size[0] += len(value)
        if size[0] > MAX_CHARS:
            check_chars(size[0], what)
        return value
    if isinstance(value, Mapping):
        _count_items(len(value), size, what)
        return {_plain_walk(java_str(k), size, what): _plain_walk(v, size, what) for k, v in value.items()}
    if ops.is_list(value):
        _count_items(len(value), size, what)
        return [_plain_walk(v, size, what) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return json_datetime(value)
    return java_str(value)


def _count_items(count: int, size: list[int], what: str) -> None:
    charge(count)
    size[1] += count
    if size[1] > 4 * MAX_ITEMS:
        raise LimitError(f"{what}: the value holds more than {4 * MAX_ITEMS:,} items in all")


@functools.cache
def _yaml_dumper() -> Any:
    """Jackson YAML style: block style, list items indented by one space under their parent (PyYAML is
    imported on first use: ~15 ms, and most flows that use a filter never dump YAML)."""
    import yaml

    class _YamlDumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)

    return _YamlDumper


def yaml_filter(env: Any, value: Any) -> str:
    import yaml

    data = _plain(value, "the YAML text", 20)  # PyYAML's emitter takes 15-30 µs an item
    text = yaml.dump(data, Dumper=_yaml_dumper(), default_flow_style=False, sort_keys=False,
                     allow_unicode=True, indent=2, width=2**31 - 1)
    if text.endswith("\n...\n"):
        text = text[:-4]
    if isinstance(data, list):  # top-level sequences are indented by one space, as Jackson does
        text = "".join(" " + line if line.startswith("-") else " " + line for line in text.splitlines(True))
    return text


def to_ion_filter(env: Any, value: Any) -> str:
    data = _plain(value, "the Ion text", 2)
    return ion_text(data)


def ion_text(value: Any) -> str:
    """Compact Ion text (the subset Kestra writes: null, bool, int, float, string, list, struct)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if "e" in text else text + "e0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_ion_key(k)}:{ion_text(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(ion_text(v) for v in value) + "]"


def _ion_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", key) and key not in ("null", "true", "false", "nan") else json.dumps(key, ensure_ascii=False)


def jq_filter(env: Any, value: Any, expression: Any = None) -> list[Any]:
    """jq on the value (a string is parsed as JSON); always the list of all results.

    jq runs in a worker process with an empty environment, a memory cap and a timeout (`jq_runner`)."""
    from .jq_runner import run_jq

    if expression is None:
        raise EvalError("jq filter requires an expression")
    data = value
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise EvalError(f"Invalid json for jq filter: {exc}") from exc
    plain = _plain(data, "the jq input")
    try:
        return run_jq(str(expression), json.dumps(plain, ensure_ascii=False))
    except ValueError as exc:
        raise EvalError(f"Failed to resolve JQ expression '{expression}' and value '{to_json(value)}': {exc}") from exc


def keys_filter(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.keys())
    if ops.is_list(value):
        return list(range(len(value)))
    raise EvalError(f"'keys' filter can only be applied to Map, Array or List. Actual type was: {ops.type_name(value)}")


def values_filter(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.values())
    raise EvalError(f"'values' filter can only be applied to Map. Actual type was: {ops.type_name(value)}")


def chunk_filter(env: Any, value: Any, size: Any = None) -> Any:
    if value is None:
        return None
    if not ops.is_list(value):
        raise EvalError(f"'chunk' filter can only be applied to List. Actual type was: {ops.type_name(value)}")
    if size is None or int(size) <= 0:
        raise EvalError("'chunk' filter requires a positive size")
    items, step = list(value), int(size)
    return [items[i : i + step] for i in range(0, len(items), step)]


def flatten_filter(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if not ops.is_list(value):
        raise EvalError(f"'flatten' filter can only be applied to List. Actual type was: {ops.type_name(value)}")
    out: list[Any] = []
    charge(len(value))
    for item in value:
        out.extend(item if ops.is_list(item) else [item])
        check_items(len(out), "the flattened list")
    return out


def distinct_filter(env: Any, value: Any) -> Any:
    if value is None:
        return "null"  # Kestra's DistinctFilter gives the text "null" (DistinctFilterTest#toDistinctFilter)
    if not ops.is_list(value):
        raise EvalError(f"'distinct' filter can only be applied to List. Actual type was: {ops.type_name(value)}")
    out: list[Any] = []
    seen: set[Any] = set()
    unhashable: list[Any] = []
    charge(len(value))
    for item in value:
        key = _distinct_key(item)
        if key is None:
            if not any(ops.equals(item, other) for other in unhashable):
                unhashable.append(item)
                out.append(item)
        elif key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _distinct_key(item: Any) -> Any:
    """A hashable key that is equal exactly when `ops.equals` is (a boolean never equals a number);
    None for a value that cannot have one (compared one by one instead)."""
    if isinstance(item, bool):
        return ("bool", item)
    try:
        return ("value", _frozen(item))
    except TypeError:
        return None


def _frozen(value: Any) -> Any:
    """`value` as hashable data that compares as Python's `==` compares the original."""
    if isinstance(value, Mapping):
        return ("map", frozenset((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(v) for v in value))
    hash(value)
    return value


def _java_replacement(replacement: str) -> Callable[[re.Match[str]], str]:
    """Java `Matcher.replaceAll` replacement: `$1`/`${name}` groups, `\\$` escapes."""

    def expand(m: re.Match[str]) -> str:
        out, i = [], 0
        while i < len(replacement):
            c = replacement[i]
            if c == "\\" and i + 1 < len(replacement):
                out.append(replacement[i + 1])
                i += 2
            elif c == "$" and i + 1 < len(replacement) and replacement[i + 1] == "{":
                end = replacement.index("}", i)
                out.append(m.group(replacement[i + 2 : end]) or "")
                i = end + 1
            elif c == "$":
                j = i + 1
                while j < len(replacement) and replacement[j].isdigit():
                    j += 1
                if j == i + 1:
                    raise EvalError("Illegal group reference")
                out.append(m.group(int(replacement[i + 1 : j])) or "")
                i = j
            else:
                out.append(c)
                i += 1
        return "".join(out)

    return expand


def _replace_one(text: str, pairs: Mapping[Any, Any], regexp: bool) -> str:
    for search, replacement in pairs.items():
        if regexp:
            text = jregex.sub(str(search), _java_replacement(java_str(replacement)), text)
        else:
            text = text.replace(java_str(search), java_str(replacement))
    return text


def replace_filter(env: Any, value: Any, replace_pairs: Any = None, regexp: Any = False) -> Any:
    """Replace every key of `replace_pairs` by its value; strings inside maps and lists too."""
    if value is None:
        return None
    if not isinstance(replace_pairs, Mapping):
        raise EvalError("The argument passed to the replace filter must be a map of replacement pairs")
    if isinstance(value, str):
        return _replace_one(value, replace_pairs, bool(regexp))
    if isinstance(value, Mapping):
        return {k: replace_filter(env, v, replace_pairs, regexp) for k, v in value.items()}
    if ops.is_list(value):
        return [replace_filter(env, v, replace_pairs, regexp) for v in value]
    return _replace_one(java_str(value), replace_pairs, bool(regexp))


FILTERS: dict[str, Callable[..., Any]] = {
    "json": to_json_filter, "toJson": to_json_filter, "jsonEncode": to_json_filter,
    "yaml": yaml_filter, "toIon": to_ion_filter, "jq": jq_filter,
    "keys": keys_filter, "values": values_filter, "chunk": chunk_filter, "flatten": flatten_filter,
    "distinct": distinct_filter, "replace": replace_filter,
    "number": number_filter, "numberFormat": number_format,
}  # fmt: skip
