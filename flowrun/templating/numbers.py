"""Number parsing (Kestra `number` filter) and Java `DecimalFormat` patterns (`numberFormat`)."""

from __future__ import annotations

import decimal
import re
from typing import Any

from .errors import EvalError


class JavaFloat(float):
    """A float that reports itself as `java.lang.Float` (what `NumberUtils.createNumber` gives)."""


class JavaBigInteger(int):
    """An int that reports itself as `java.math.BigInteger`."""


_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1


def _create_number(text: str) -> Any:
    """Apache `NumberUtils.createNumber`: Integer → Long → BigInteger, or Float → Double → BigDecimal."""
    body = text.strip()
    if re.fullmatch(r"[+-]?\d+", body):
        value = int(body)
        return value if abs(value) <= _LONG_MAX else JavaBigInteger(value)
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", body):
        return int(body, 16)
    try:
        value_f = float(body.rstrip("fFdD"))
    except ValueError as exc:
        raise EvalError(f"{text} is not a valid number.") from exc
    digits = len(re.sub(r"[^0-9]", "", body.split("e")[0].split("E")[0]).lstrip("0"))
    return JavaFloat(value_f) if digits <= 7 else value_f


def number_filter(env: Any, value: Any, type: Any = None) -> Any:  # noqa: A002
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvalError(f"'number' filter can only be applied to String. Actual type was: {type_name_of(value)}")
    kind = (type or "").upper()
    try:
        if kind in ("INT", "LONG"):
            return int(value.strip())
        if kind == "FLOAT":
            return JavaFloat(float(value))
        if kind == "DOUBLE":
            return float(value)
        if kind == "BIGDECIMAL":
            return decimal.Decimal(value.strip())
        if kind == "BIGINTEGER":
            return JavaBigInteger(int(value.strip()))
    except (ValueError, decimal.InvalidOperation) as exc:
        raise EvalError(f"{value} is not a valid number.") from exc
    return _create_number(value)


def type_name_of(value: Any) -> str:
    return type(value).__name__


# --- DecimalFormat ----------------------------------------------------------------------------
_SPECIAL = set("0#,.%\u2030E-;")


def _split_affixes(pattern: str) -> tuple[str, str, str]:
    positive = pattern.split(";", 1)[0]
    start = next((i for i, c in enumerate(positive) if c in "0#,."), len(positive))
    end = start
    while end < len(positive) and positive[end] in "0#,.E":
        end += 1
    return positive[:start].replace("'", ""), positive[start:end], positive[end:].replace("'", "")


def number_format(env: Any, value: Any, format: Any = None) -> Any:  # noqa: A002
    """Format a number with a `DecimalFormat` pattern (`#.##`, `#,##0.00`, `0.0%`), HALF_EVEN rounding."""
    if value is None:
        return None
    if format is None:
        raise EvalError("numberFormat requires a format")
    number = decimal.Decimal(repr(float(value))) if isinstance(value, float) else decimal.Decimal(value)
    prefix, core, suffix = _split_affixes(str(format))
    if "%" in prefix + suffix:
        number *= 100
    elif "\u2030" in prefix + suffix:
        number *= 1000
    integer_part, _, fraction_part = core.partition(".")
    min_int = integer_part.count("0")
    min_frac, max_frac = fraction_part.count("0"), len(fraction_part.replace(",", ""))
    group = len(integer_part) - integer_part.rfind(",") - 1 if "," in integer_part else 0
    quantum = decimal.Decimal(1).scaleb(-max_frac)
    rounded = abs(number).quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)
    whole, _, frac = f"{rounded:f}".partition(".")
    frac = frac.rstrip("0").ljust(min_frac, "0")
    whole = whole.lstrip("0").rjust(min_int, "0")
    if group:
        whole = ",".join(_groups(whole, group))
    text = whole + ("." + frac if frac else "")
    if not text:
        text = "0"
    sign = "-" if number < 0 and rounded != 0 else ""
    return f"{sign}{prefix}{text}{suffix}"


def _groups(digits: str, size: int) -> list[str]:
    out: list[str] = []
    while len(digits) > size:
        out.insert(0, digits[-size:])
        digits = digits[:-size]
    return [digits, *out] if digits else out
