"""Kestra's item tasks over Ion files, one item per line: DeduplicateItems and FilterItems."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from flowrun.errors import TaskError
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.props import choice
from flowrun.tasks.storage_files import source_path


def _variables(value: Any) -> Any:
    """An Ion value as template variables: decimals become int or float."""
    if isinstance(value, dict):
        return {k: _variables(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_variables(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def items(ctx: RunContext, path: Path) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, raw line, item) for each line of an Ion file; a line that is not an Ion struct fails."""
    from amazon.ion import simpleion

    from flowrun.ion import to_python

    with open(path, encoding="utf-8", errors="replace", newline=None) as stream:
        for number, raw in enumerate(stream, start=1):
            line = raw[:-1] if raw.endswith("\n") else raw
            try:
                value = to_python(simpleion.loads(line))
            except Exception as exc:  # noqa: BLE001 - the Ion reader raises several types
                raise TaskError(f"task `{ctx.task_id}`: line {number} is not an Ion value: {exc}",
                                {"hint": "the file must hold one Ion struct per line, as query tasks store them"}
                                ) from None
            if not isinstance(value, dict):
                raise TaskError(f"task `{ctx.task_id}`: line {number} is not an Ion struct: `{line[:200]}`",
                                {"hint": "each line must be a map of fields, e.g. {key:\"a\",value:1}"})
            yield number, line, _variables(value)


def _write_kept(ctx: RunContext, lines: Iterator[str]) -> tuple[str, int]:
    path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}.ion")
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return uri, count


class DeduplicateItems(Task):
    """Keep, for each key that `expr` renders from an item (its fields are the variables), only the last
    item with that key, in the file's order. `from` is an Ion file of internal storage, one item per line.
    Outputs: `uri` (the new file), `numKeys`, `processedItemsTotal` and `droppedItemsTotal`."""

    from_: str = Field(alias="from")
    expr: str

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = source_path(ctx, str(ctx.render(self.from_)), "from")
        last: dict[str, int] = {}
        for number, _, item in items(ctx, source):
            last[str(ctx.render_with(self.expr, item))] = number
        keep = set(last.values())
        processed = 0

        def kept() -> Iterator[str]:
            nonlocal processed
            for number, line, _ in items(ctx, source):
                processed += 1
                if number in keep:
                    yield line

        uri, count = _write_kept(ctx, kept())
        return {"uri": uri, "numKeys": len(last), "processedItemsTotal": processed,
                "droppedItemsTotal": processed - count}


FILTER_TYPES = ("INCLUDE", "EXCLUDE")
ON_ERROR = ("FAIL", "INCLUDE", "EXCLUDE")


class FilterItems(Task):
    """Keep (`filterType: INCLUDE`, the default) or drop (`EXCLUDE`) the items of an Ion file (`from`, one
    item per line) for which `filterCondition` is true; the item's fields are its variables, and it is false
    when it renders `false`, `0`, `-0` or empty. When the condition cannot be evaluated on an item,
    `errorOrNullBehavior` fails the task (FAIL, the default), keeps the item (INCLUDE) or drops it (EXCLUDE).
    Outputs: `uri` (the new file), `processedItemsTotal` and `droppedItemsTotal`."""

    from_: str = Field(alias="from")
    filter_condition: str
    filter_type: str = "INCLUDE"
    error_or_null_behavior: str = "FAIL"

    def _keeps(self, ctx: RunContext, number: int, line: str, item: dict[str, Any], action: str,
               on_error: str) -> bool:
        from flowrun.templating.truth import is_true

        try:
            match = is_true(str(ctx.render_with(self.filter_condition, item)).strip())
        except TaskError as exc:
            if on_error == "FAIL":
                raise TaskError(f"{exc.message} (item on line {number}: `{line[:200]}`)", exc.evidence) from None
            return on_error == "INCLUDE"
        return (action == "INCLUDE") == match

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = source_path(ctx, str(ctx.render(self.from_)), "from")
        action = choice(ctx, self.filter_type, "filterType", FILTER_TYPES)
        on_error = choice(ctx, self.error_or_null_behavior, "errorOrNullBehavior", ON_ERROR)
        processed = 0

        def kept() -> Iterator[str]:
            nonlocal processed
            for number, line, item in items(ctx, source):
                processed += 1
                if self._keeps(ctx, number, line, item, action, on_error):
                    yield line

        uri, count = _write_kept(ctx, kept())
        return {"uri": uri, "processedItemsTotal": processed, "droppedItemsTotal": processed - count}
