"""Pebble core filters and Kestra's string filters; `FILTERS` is the registry of every filter by name."""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from . import dates, filters_data, jregex
from . import operators as ops
from .errors import EvalError
from .limits import charge, check_chars, check_items
from .output import java_str


def _string(value: Any) -> str:
    return value if isinstance(value, str) else java_str(value)


def abbreviate(env: Any, value: Any, length: int) -> Any:
    if value is None:
        return None
    text, width = _string(value), int(length)
    if width < 0:
        raise EvalError("Invalid argument to abbreviate filter; must be greater than zero")
    if len(text) < width or len(text) <= 3:
        return text
    return text[:width] if width <= 3 else text[: width - 3] + "..."


def abs_filter(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if not ops.is_number(value):
        raise EvalError("Input to abs filter must be a number")
    return abs(value)


def capitalize(env: Any, value: Any) -> Any:
    if value is None:
        return None
    text = _string(value)
    return text[:1].upper() + text[1:]


def title(env: Any, value: Any) -> Any:
    if value is None:
        return None
    out, up = [], True
    for ch in _string(value):
        if ch.isspace():
            up = True
        elif up:
            ch, up = ch.title(), False
        out.append(ch)
    return "".join(out)


def default(env: Any, value: Any, default: Any = None) -> Any:
    return default if ops.is_empty(value) else value


def first(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:1] or None
    items = list(value.values()) if isinstance(value, Mapping) else list(value)
    return items[0] if items else None


def last(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[-1:] or None
    items = list(value.values()) if isinstance(value, Mapping) else list(value)
    return items[-1] if items else None


def join(env: Any, value: Any, separator: Any = None) -> Any:
    if value is None:
        return None
    sep = "" if separator is None else _string(separator)
    charge(len(value))
    parts = [java_str(v) for v in value]
    check_chars(sum(map(len, parts)) + len(sep) * len(parts), "the joined string")
    return sep.join(parts)


def length(env: Any, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | Mapping) or ops.is_list(value):
        return len(value)
    return 0


def _count(value: Any) -> int:
    return len(value) if isinstance(value, Mapping) or ops.is_list(value) else 0


def merge(env: Any, value: Any, items: Any = None) -> Any:
    if value is None:
        if items is None:
            raise EvalError("The two arguments to be merged are null")
        return items
    if items is None:
        return value
    check_items(_count(value) + _count(items), "the merged value")
    if isinstance(value, Mapping):
        if isinstance(items, Mapping):
            return {**value, **items}
        if ops.is_list(items):
            return {**value, **{i: i for i in items}}
        raise EvalError("Currently, only Maps and Lists can be merged with a Map.")
    if ops.is_list(value):
        if isinstance(items, Mapping):
            return list(value) + [{"key": k, "value": v} for k, v in items.items()]
        if ops.is_list(items):
            return list(value) + list(items)
        raise EvalError("Currently, only Maps and Lists can be merged with a List.")
    raise EvalError("The object being filtered is not a Map/List/Array")


def reverse(env: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[::-1]
    return list(value)[::-1]


def _sorted(value: Any, descending: bool) -> Any:
    if value is None:
        return None
    try:
        return sorted(value, reverse=descending)
    except TypeError as exc:
        raise EvalError(f"Cannot sort values of different types: {exc}") from exc


def slice_filter(env: Any, value: Any, fromIndex: Any = 0, toIndex: Any = None) -> Any:  # noqa: N803
    if value is None:
        return None
    if not (isinstance(value, str) or ops.is_list(value)):
        raise EvalError(f"Slice filter can only be applied to String, List and array inputs. Actual type was: {ops.type_name(value)}")
    start = 0 if fromIndex is None else int(fromIndex)
    if start < 0:
        raise EvalError("fromIndex must be greater than 0")
    end = len(value) if toIndex is None else int(toIndex)
    if end > len(value):
        raise EvalError(f"toIndex must be smaller than input size: {len(value)}")
    if toIndex is not None and start >= end:
        raise EvalError("toIndex must be greater than fromIndex")
    return value[start:end] if isinstance(value, str) else list(value)[start:end]


def split(env: Any, value: Any, delimiter: Any = None, limit: Any = None) -> Any:
    """Java `String.split(regex, limit)` (see `jregex.split`)."""
    if value is None:
        return None
    if delimiter is None:
        raise EvalError("missing delimiter parameter in split filter")
    limit_ = 0 if limit is None else int(limit)
    return jregex.split(_string(delimiter), _string(value), limit_)


def trim(env: Any, value: Any) -> Any:
    return None if value is None else _string(value).strip()


def urlencode(env: Any, value: Any) -> Any:
    return None if value is None else urllib.parse.quote_plus(_string(value), safe="*")


def urldecode(env: Any, value: Any) -> Any:
    return None if value is None else urllib.parse.unquote_plus(_string(value))


def base64encode(env: Any, value: Any) -> Any:
    if value is None:
        return None
    return base64.b64encode(_string(value).encode()).decode()


def base64decode(env: Any, value: Any) -> Any:
    """Pebble's: a string only (a map, list or number is an error), strictly Base64."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvalError(f"base64decode applies to a String, not {ops.type_name(value)}")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except ValueError as exc:
        raise EvalError(f"base64decode needs a correctly Base64 encoded string: {exc}") from None


def _digest(name: str) -> Callable[[Any, Any], Any]:
    """Pebble's `sha256` (and Kestra's `sha1`, `sha512`, `md5`): a string only, as they need one to hash."""

    def run(env: Any, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise EvalError(f"{name} needs a string to hash, not {ops.type_name(value)}")
        return hashlib.new(name, value.encode()).hexdigest()

    return run


def slugify(env: Any, value: Any) -> Any:
    if value is None:
        return None
    text = unicodedata.normalize("NFD", java_str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\s+", "-", text)
    text = re.sub(r"[^\w-]", "", text).replace("_", "-")
    return re.sub(r"-{2,}", "-", text).strip("-").lower()


def _substring(last_match: bool, after: bool) -> Callable[..., Any]:
    """Apache `StringUtils.substringBefore/After[Last]`."""

    def run(env: Any, value: Any, separator: Any = None) -> Any:
        if value is None:
            return None
        text = _string(value)
        if separator is None:
            return text if not after else ""
        sep = _string(separator)
        if not text:
            return text
        if sep == "":
            return ("" if not last_match else text) if not after else (text if not last_match else "")
        pos = text.rfind(sep) if last_match else text.find(sep)
        if pos < 0:
            return "" if after else text
        return text[pos + len(sep) :] if after else text[:pos]

    return run


def starts_with(env: Any, value: Any, prefix: Any = None) -> bool:
    return value is not None and prefix is not None and _string(value).startswith(_string(prefix))


def ends_with(env: Any, value: Any, suffix: Any = None) -> bool:
    return value is not None and suffix is not None and _string(value).endswith(_string(suffix))


_ESCAPES = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}


def escape_char(env: Any, value: Any, type: Any = None) -> Any:  # noqa: A002
    if value is None:
        return None
    if type not in _ESCAPES:
        raise EvalError(f"Invalid escape type [{type}], must be one of single, double, shell")
    old, new = _ESCAPES[type]
    return _string(value).replace(old, new)


def _indent(first_line: bool) -> Callable[..., Any]:
    def run(env: Any, value: Any, amount: Any = None, prefix: Any = " ") -> Any:
        if value is None:
            return None
        text = _string(value)
        if amount is None:
            raise EvalError("indent requires an amount")
        unit, count = _string(prefix), int(amount)
        check_chars(len(unit) * count * (text.count("\n") + text.count("\r") + 2) + len(text), "the indented text")
        pad = unit * count
        body = re.sub(r"(\r\n|\r|\n)", lambda m: m.group(1) + pad, text)
        if not first_line:
            return body
        newline = re.search(r"\r\n|\r|\n", text)
        return (newline.group() if newline else "\n") + pad + body if text else ""

    return run


def class_name(env: Any, value: Any) -> Any:
    return None if value is None else ops.type_name(value)


def string(env: Any, value: Any) -> Any:
    return None if value is None else java_str(value)


FILTERS: dict[str, Callable[..., Any]] = {
    "abbreviate": abbreviate, "abs": abs_filter, "capitalize": capitalize, "title": title,
    "default": default, "first": first, "last": last, "join": join, "length": length,
    "lower": lambda env, v: None if v is None else _string(v).lower(),
    "upper": lambda env, v: None if v is None else _string(v).upper(),
    "trim": trim, "merge": merge, "reverse": reverse,
    "sort": lambda env, v: _sorted(v, False), "rsort": lambda env, v: _sorted(v, True),
    "slice": slice_filter, "split": split, "urlencode": urlencode, "urldecode": urldecode,
    "base64encode": base64encode, "base64decode": base64decode,
    "sha256": _digest("sha256"), "sha1": _digest("sha1"), "sha512": _digest("sha512"), "md5": _digest("md5"),
    "slugify": slugify,
    "substringBefore": _substring(False, False), "substringAfter": _substring(False, True),
    "substringBeforeLast": _substring(True, False), "substringAfterLast": _substring(True, True),
    "startsWith": starts_with, "endsWith": ends_with, "escapeChar": escape_char,
    "indent": _indent(False), "nindent": _indent(True), "className": class_name, "string": string,
    "date": dates.date_filter, "dateAdd": dates.date_add_filter, "timestamp": dates.timestamp_filter,
    "timestampMilli": dates.timestamp_milli_filter, "timestampMicro": dates.timestamp_micro_filter,
    "timestampNano": dates.timestamp_nano_filter,
    **filters_data.FILTERS,
}  # fmt: skip
