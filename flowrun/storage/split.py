"""Splitting a text file into parts by rows, bytes, partitions or a regex routing key, as Kestra's StorageService."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_BYTES = re.compile(r"(\d+)(KB|MB|GB)?", re.IGNORECASE)
_UNITS = {None: 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def parse_bytes(text: str) -> int:
    """A size as Micronaut reads one: `1024`, `200KB`, `10MB`, `1GB` (units of 1024, case-insensitive)."""
    match = _BYTES.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"invalid size `{text}`: use a number of bytes or a number followed by KB, MB or GB")
    unit = match.group(2).upper() if match.group(2) else None
    return int(match.group(1)) * _UNITS[unit]


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of a text file without their terminators (`\\n`, `\\r\\n` or `\\r`, as Java's readLine)."""
    with open(path, encoding=encoding, errors="replace", newline=None) as stream:
        for line in stream:
            yield line[:-1] if line.endswith("\n") else line


@dataclass(frozen=True)
class SplitSpec:
    """How to split: exactly one of `rows`, `bytes`, `partitions` or `regex`; each row is written followed by
    `separator`."""

    rows: int | None = None
    bytes: int | None = None
    partitions: int | None = None
    regex: str | None = None
    separator: str = "\n"


class _Parts:
    """Numbered part files `<dir>/part-00001<ext>`, opened on demand."""

    def __init__(self, directory: Path, extension: str) -> None:
        self.directory, self.extension = directory, extension
        self.paths: list[Path] = []

    def open(self) -> IO[bytes]:
        path = self.directory / f"part-{len(self.paths) + 1:05d}{self.extension}"
        self.paths.append(path)
        return open(path, "wb")


def split_file(source: Path, directory: Path, extension: str, spec: SplitSpec) -> list[Path]:
    """Write the parts of `source` into `directory`; returns their paths in order (empty parts left out)."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = _Parts(directory, extension)
    if spec.regex is not None:
        _by_regex(source, parts, spec)
    elif spec.bytes is not None:
        _sequential(source, parts, spec.separator, lambda size, rows: size >= (spec.bytes or 0))
    elif spec.partitions is not None:
        _round_robin(source, parts, spec.separator, spec.partitions)
    elif spec.rows is not None:
        _sequential(source, parts, spec.separator, lambda size, rows: rows >= (spec.rows or 0))
    else:
        raise ValueError("set one of rows, bytes, partitions or regexPattern")
    kept = [path for path in parts.paths if path.stat().st_size > 0]
    for path in set(parts.paths) - set(kept):
        path.unlink()
    return kept


def _sequential(source: Path, parts: _Parts, separator: str, full: Callable[[int, int], bool]) -> None:
    """A new part starts when the current one is `full(bytes, rows)` (checked before each row, as Kestra does)."""
    out: IO[bytes] | None = None
    size = rows = 0
    try:
        for line in read_lines(source):
            if out is None or full(size, rows):
                if out is not None:
                    out.close()
                out, size, rows = parts.open(), 0, 0
            data = (line + separator).encode("utf-8")
            out.write(data)
            size, rows = size + len(data), rows + 1
    finally:
        if out is not None:
            out.close()


def _round_robin(source: Path, parts: _Parts, separator: str, count: int) -> None:
    outs = [parts.open() for _ in range(count)]
    try:
        for index, line in enumerate(read_lines(source)):
            outs[index % count].write((line + separator).encode("utf-8"))
    finally:
        for out in outs:
            out.close()


def _by_regex(source: Path, parts: _Parts, spec: SplitSpec) -> None:
    """One part per value of the pattern's first group, in order of first appearance; other lines dropped."""
    pattern = re.compile(spec.regex or "")
    outs: dict[str | None, IO[bytes]] = {}
    try:
        for line in read_lines(source):
            match = pattern.search(line)
            if match is None or pattern.groups == 0:
                continue
            key = match.group(1)
            if key not in outs:
                outs[key] = parts.open()
            outs[key].write((line + spec.separator).encode("utf-8"))
    finally:
        for out in outs.values():
            out.close()
