"""Pebble value semantics: arithmetic, comparison, membership, truthiness and sandboxed attribute access."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Mapping
from typing import Any

from .errors import EvalError, MissingError
from .limits import MAX_INT_BITS, charge, check_chars, check_int, check_items
from .numbers import JavaBigInteger, JavaFloat
from .output import java_str

_OP_NAMES = {"+": "ADD", "-": "SUBTRACT", "*": "MULTIPLICATION", "/": "DIVISION", "%": "MODULUS"}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def arithmetic(op: str, a: Any, b: Any) -> Any:
    """`+ - * / %` with Java binary numeric promotion: Long stays Long (truncating division)."""
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        left, right = java_str(a), java_str(b)
        check_chars(len(left) + len(right), "a string joined with +")
        return left + right
    if op == "+" and isinstance(a, list):
        extra = list(b) if is_list(b) else [b]
        check_items(len(a) + len(extra), "a list joined with +")
        return a + extra
    if op == "-" and isinstance(a, list):
        drop = list(b) if is_list(b) else [b]
        return [x for x in a if x not in drop] if is_list(b) else _remove_first(a, b)
    if not is_number(a) or not is_number(b):
        raise EvalError(f"invalid operands for mathematical operation [{_OP_NAMES[op]}]")
    if isinstance(a, float) or isinstance(b, float):
        return _float_op(op, float(a), float(b))
    if op == "+":
        return check_int(a + b)
    if op == "-":
        return check_int(a - b)
    if op == "*":
        if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:  # refuse before computing it
            check_int(1 << MAX_INT_BITS)
        return check_int(a * b)
    if b == 0:
        raise EvalError("/ by zero")
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
    return quotient if op == "/" else a - b * quotient


def _remove_first(items: list[Any], value: Any) -> list[Any]:
    out = list(items)
    if value in out:
        out.remove(value)
    return out


def _float_op(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        if op == "%" or a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b if op == "/" else math.fmod(a, b)


def negate(value: Any) -> Any:
    return arithmetic("*", -1, value)


def equals(a: Any, b: Any) -> bool:
    """Pebble `==`: numbers by value, otherwise Java `equals` (a boolean never equals a number)."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    """`< > <= >=`: numbers, strings (Kestra), dates; a null operand gives false."""
    if a is None or b is None:
        return False
    ok = (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))
    ok = ok or (isinstance(a, dt.datetime) and isinstance(b, dt.datetime))
    if not ok:
        raise EvalError(f"Could not perform {op} comparison between {java_str(a)} and {java_str(b)}")
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def contains(a: Any, b: Any) -> bool:
    """Pebble `contains`: list (all of a list), map key, substring."""
    if a is None:
        return False
    if isinstance(a, Mapping):
        return _hashable(b) and b in a
    if is_list(a):
        if is_list(b):
            return all(any(equals(x, y) for x in a) for y in b)
        return any(equals(x, b) for x in a)
    if isinstance(a, str):
        return java_str(b) in a
    raise EvalError(f"Contains operator can only be used on Collections, Maps and arrays. Actual type was: {type_name(a)}")


def member(a: Any, b: Any) -> bool:
    """Kestra `in`: compares `toString()` forms with list items, or with map keys and values."""
    if a is None or b is None:
        return False
    text = java_str(a)
    charge(len(b) >> 2 if isinstance(b, Mapping) or is_list(b) else 0)  # ~0.3 µs an item
    if isinstance(b, Mapping):
        return any(java_str(k) == text or java_str(v) == text for k, v in b.items())
    if is_list(b):
        return text in map(java_str, b)
    return False


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def concat(a: Any, b: Any) -> str:
    """`~`: null operands count as empty strings."""
    left, right = ("" if a is None else java_str(a)), ("" if b is None else java_str(b))
    check_chars(len(left) + len(right), "a string joined with ~")
    return left + right


def value_range(start: Any, end: Any, step: Any = 1) -> list[Any]:
    """Pebble `range`/`..`: inclusive bounds, integers or single characters."""
    if isinstance(start, str) and isinstance(end, str) and len(start) == 1 and len(end) == 1:
        return [chr(c) for c in value_range(ord(start), ord(end), step)]
    if not (is_number(start) and is_number(end) and is_number(step)):
        raise EvalError("arguments of range must be of type Number or Character with length 1")
    start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise EvalError("The step of range function must not be zero")
    numbers = range(start, end + (1 if step > 0 else -1), step)
    check_items(max(0, (numbers.stop - numbers.start + step - (1 if step > 0 else -1)) // step),
                f"range({start}, {end})")  # len() of a range beyond a C ssize_t raises OverflowError
    return list(numbers)


def to_bool(value: Any, where: str) -> bool:
    """Pebble's boolean cast: booleans, numbers (non-zero), strings (non-empty); null is an error."""
    if value is None:
        raise EvalError(f"null value given to {where} and strict variables is set to true")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not (isinstance(value, float) and math.isnan(value)) and value != 0
    if isinstance(value, str):
        return value != ""
    raise EvalError(f"Unsupported value type {type_name(value)}. Expected Boolean, String, Number in {where}")


def is_empty(value: Any) -> bool:
    """Pebble `empty` test (also drives the `default` filter): null, blank string, empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) == 0
    return False


def type_name(value: Any) -> str:
    """The Java class name Kestra's `className` filter would report for this Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, JavaBigInteger):
        return "java.math.BigInteger"
    if isinstance(value, JavaFloat):
        return "java.lang.Float"
    if isinstance(value, decimal.Decimal):
        return "java.math.BigDecimal"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, Mapping):
        return "java.util.LinkedHashMap"
    if is_list(value):
        return "java.util.ArrayList"
    if isinstance(value, dt.datetime):
        return "java.time.ZonedDateTime" if value.tzinfo else "java.time.LocalDateTime"
    if isinstance(value, dt.date):
        return "java.time.LocalDate"
    return type(value).__name__


# --- sandboxed attribute access ----------------------------------------------------------------
def _date_getters() -> dict[str, Callable[[dt.datetime], Any]]:
    return {
        "year": lambda d: d.year,
        "monthValue": lambda d: d.month,
        "month": lambda d: d.strftime("%B").upper(),
        "dayOfMonth": lambda d: d.day,
        "dayOfYear": lambda d: d.timetuple().tm_yday,
        "dayOfWeek": lambda d: d.strftime("%A").upper(),
        "hour": lambda d: d.hour,
        "minute": lambda d: d.minute,
        "second": lambda d: d.second,
        "nano": lambda d: d.microsecond * 1000,
        "epochSecond": lambda d: int(d.timestamp()),
    }


_DATE_GETTERS = _date_getters()


def get_attr(obj: Any, key: Any, line: int) -> Any:
    """`obj.key` / `obj[key]`: map keys and list indexes only, plus a few Java getters.

    No Python attribute is ever read, so `__class__` and friends are unreachable.
    """
    if isinstance(obj, Mapping):
        if _hashable(key) and key in obj:
            return obj[key]
        if isinstance(key, int) and not isinstance(key, bool) and str(key) in obj:
            return obj[str(key)]
    elif isinstance(obj, list | tuple):
        index = key if isinstance(key, int) and not isinstance(key, bool) else None
        if isinstance(key, str) and key.isdigit():
            index = int(key)
        if index is not None and 0 <= index < len(obj):
            return obj[index]
        if key in ("size", "length"):
            return len(obj)
        if key == "empty":
            return not obj
    elif isinstance(obj, str):
        if key == "length":
            return len(obj)
        if key in ("empty", "blank"):
            return obj == "" if key == "empty" else obj.strip() == ""
    elif isinstance(obj, dt.datetime) and isinstance(key, str) and key in _DATE_GETTERS:
        return _DATE_GETTERS[key](obj)
    raise MissingError(java_str(key), line)


_STR_METHODS: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda s: s == "",
    "isBlank": lambda s: s.strip() == "",
    "toUpperCase": str.upper,
    "toLowerCase": str.lower,
    "trim": str.strip,
    "strip": str.strip,
    "contains": lambda s, x: java_str(x) in s,
    "startsWith": lambda s, x: s.startswith(java_str(x)),
    "endsWith": lambda s, x: s.endswith(java_str(x)),
    "indexOf": lambda s, x: s.find(java_str(x)),
    "replace": lambda s, a, b: s.replace(java_str(a), java_str(b)),
    "substring": lambda s, a, b=None: s[a:b] if b is not None else s[a:],
    "equals": lambda s, x: s == x,
    "toString": lambda s: s,
    "charAt": lambda s, i: s[i],
}
_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda v: len(v) == 0,
    "contains": lambda v, x: any(equals(i, x) for i in v),
    "get": lambda v, i: v[i],
    "indexOf": lambda v, x: next((i for i, y in enumerate(v) if equals(y, x)), -1),
}
_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda m: len(m) == 0,
    "containsKey": lambda m, k: _hashable(k) and k in m,
    "containsValue": lambda m, v: any(equals(x, v) for x in m.values()),
    "get": lambda m, k: m.get(k) if _hashable(k) else None,
    "getOrDefault": lambda m, k, d: m.get(k, d) if _hashable(k) else d,
    "keySet": lambda m: list(m.keys()),
    "values": lambda m: list(m.values()),
}


def call_method(obj: Any, name: str, args: list[Any]) -> Any:
    """A small whitelist of the Java methods Pebble templates commonly call (`s.endsWith('x')`)."""
    if isinstance(obj, str):
        table = _STR_METHODS
    elif isinstance(obj, Mapping):
        table = _MAP_METHODS
    elif is_list(obj):
        table = _LIST_METHODS
    else:
        table = {}
    method = table.get(name)
    if method is None:
        raise EvalError(f"Method [{name}] of [{type_name(obj)}] is not available in templates")
    try:
        return method(obj, *args)
    except (TypeError, IndexError) as exc:
        raise EvalError(f"Wrong arguments for method [{name}]: {exc}") from exc
