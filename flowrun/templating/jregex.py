"""Java regular expressions in templates, run by the `regex` engine with clear errors and a time limit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .errors import EvalError
from .limits import REGEX_SECONDS, after_timeout, seconds_left

_POSIX_CLASSES = {
    "Alpha": "A-Za-z", "Digit": "0-9", "Alnum": "A-Za-z0-9", "Upper": "A-Z", "Lower": "a-z",
    "Space": r" \t\n\x0B\f\r", "Punct": r"!-/:-@\[-`{-~", "XDigit": "0-9a-fA-F",
}  # fmt: skip


def _translate(pattern: str) -> str:
    """Java's POSIX classes (`\\p{Alpha}`) are ASCII-only; spell them as ranges, inside a set or not."""
    out, i, in_set = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern.startswith("p{", i + 1):
            end = pattern.find("}", i)
            ranges = _POSIX_CLASSES.get(pattern[i + 3 : end]) if end > 0 else None
            if ranges is not None:
                out.append(ranges if in_set else f"[{ranges}]")
                i = end + 1
                continue
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        in_set = (in_set and c != "]") or (not in_set and c == "[")
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_java(pattern: str) -> Any:
    """Compile a Java regex for the `regex` engine (backtracking like Java's, with a timeout)."""
    import regex

    try:
        return regex.compile(_translate(pattern))
    except regex.error as exc:
        raise EvalError(f"Invalid regular expression `{pattern}`: {exc}") from None


def _timed(pattern: str, run: Callable[[float], Any]) -> Any:
    seconds = seconds_left(REGEX_SECONDS)
    try:
        return run(seconds)
    except TimeoutError:
        after_timeout(f"The regular expression `{pattern}`", seconds)
        raise  # unreachable: after_timeout always raises


def split(pattern: str, text: str, limit: int = 0) -> list[str]:
    """Java `String.split(regex, limit)`: groups are not returned, a zero-width match at 0 gives no
    leading empty string, and with limit 0 trailing empty strings are dropped."""
    compiled = compile_java(pattern)
    return _timed(pattern, lambda seconds: _split(compiled, text, limit, seconds))  # type: ignore[no-any-return]


def _split(compiled: Any, text: str, limit: int, seconds: float) -> list[str]:
    parts: list[str] = []
    index = 0
    for m in compiled.finditer(text, timeout=seconds):
        if 0 < limit <= len(parts) + 1:
            break
        if index == 0 and m.start() == 0 and m.end() == 0:
            continue
        parts.append(text[index : m.start()])
        index = m.end()
    if not parts:
        return [text]
    parts.append(text[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def sub(pattern: str, replacement: Callable[[Any], str], text: str) -> str:
    compiled = compile_java(pattern)
    return _timed(pattern, lambda seconds: compiled.sub(replacement, text, timeout=seconds))  # type: ignore[no-any-return]
