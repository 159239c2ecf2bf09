"""A parsed YAML file: its plain data and the line and column where each part of it was written."""

from __future__ import annotations

from typing import Any

from flowrun.errors import Problem
from flowrun.plain import Plain

Path_ = tuple[str | int, ...]


class Document(Plain):
    """A parsed YAML file: its data and where each part of it was written."""

    FIELDS = ("data", "file", "text", "positions")

    def __init__(self, data: Any, file: str, text: str,
                 positions: dict[Path_, tuple[int, int]] | None = None) -> None:
        self.data = data
        self.file = file
        self.text = text
        self.positions: dict[Path_, tuple[int, int]] = {} if positions is None else positions

    def locate(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column of `path`, or of its nearest located ancestor."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None, None
            path = path[:-1]

    def problem(self, path: Path_, message: str, where: str | None = None) -> Problem:
        line, col = self.locate(path)
        return Problem(message, file=self.file, line=line, column=col, where=where)
