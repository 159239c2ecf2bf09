"""ForEachItem: split a file into batches and run one subflow execution per batch (`{{ taskrun.items }}`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.errors import TaskError
from flowrun.model.base import Strict
from flowrun.model.execution import State
from flowrun.model.lite import Field, PrivateAttr, field_validator
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.flowable import SubflowCall

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


class Batch(Strict):
    """`batch`: lines per batch (`rows`, default 1), about `bytes` per batch, a number of `partitions`, or one
    batch per value of `regexPattern`'s first group; `separator` ends each line written."""

    rows: int | str | None = 1
    bytes: str | int | None = None
    partitions: int | str | None = None
    regex_pattern: str | None = None
    separator: str = "\n"


class ForEachItem(SubflowCall):
    """Split `items` (a kestra:// file: one item per line, e.g. Ion, JSON lines or CSV without header) into
    batches and run the subflow `namespace`/`flowId` once per batch, its `inputs` rendered with
    `taskrun.items` (the batch's URI) and `taskrun.iteration` (from 0).

    As in Kestra it shows as three task runs below it: `<id>_split` (output `splits`, the file listing the
    batches), `<id>_items` (outputs `numberOfBatches` and `iterations`, the count of subflow executions per state;
    `uri`, the subflows' outputs) and `<id>_merge` (`subflowOutputs`: one Ion line per subflow that has outputs).
    With `wait` (default) the subflows run one after the other and `transmitFailed` (default) fails this task when
    one of them failed; `wait: false` starts them all in the background. On restart every batch runs again.
    """

    child_fields: ClassVar[tuple[str, ...]] = ("errors", "finally_")

    items: str
    batch: Batch = Field(default_factory=Batch)
    restart_behavior: str = "RETRY_FAILED"
    finally_: list[Task] | None = Field(default=None, alias="finally")

    @field_validator("schedule_date")
    @classmethod
    def _no_schedule_date(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("scheduleDate is not supported by flowrun: it runs every subflow now")
        return value

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        # the internal task runs take the ForEachItem's allowFailure/allowWarning, as Kestra's do (an allowed
        # failed batch still merges: TaskWithAllowFailureTest#executableTask_ForEachItem counts 4 task runs)
        allow = {"allowFailure": self.allow_failure, "allowWarning": self.allow_warning}
        parts = [ItemsSplit.model_validate({"id": f"{self.id}_split", "type": SPLIT_TYPE, **allow}),
                 ItemsSubflows.model_validate({"id": f"{self.id}_items", "type": ITEMS_TYPE, **allow}),
                 MergeOutputs.model_validate({"id": f"{self.id}_merge", "type": MERGE_TYPE, **allow})]
        for part in parts:
            part._owner, part._runner, part._parent_run = self, ex, taskrun
        inner = scope.child(taskrun)
        state = ex.run_group(parts, inner, self.errors)  # type: ignore[arg-type]
        if self.finally_ and not ex.killed.is_set():
            ex.run_group(self.finally_, inner, None)
        return state


SPLIT_TYPE = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemSplit"
ITEMS_TYPE = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemExecutable"
MERGE_TYPE = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemMergeOutputs"


class _Part(Task):
    """One of the three internal task runs of a ForEachItem (built when it runs, never written in a flow)."""

    _owner: Any = PrivateAttr(default=None)
    _runner: Any = PrivateAttr(default=None)
    _parent_run: Any = PrivateAttr(default=None)

    def sibling_outputs(self, suffix: str) -> dict[str, Any]:
        """The outputs of the task run `<foreachitem id><suffix>` below the same ForEachItem task run."""
        wanted = f"{self._owner.id}{suffix}"
        for run in list(self._runner.execution.task_runs):
            if run.parent_id == self._parent_run.id and run.task_id == wanted:
                return dict(run.outputs)
        raise TaskError(f"`{wanted}` has no task run in this execution")


class ItemsSplit(_Part):
    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.storage.split import split_file
        from flowrun.tasks.storage_files import extension_of, source_path

        uri = str(ctx.render(self._owner.items)).strip()
        if not uri.startswith("kestra://"):
            raise TaskError(f"Unable to split the items from {uri}, this is not an internal storage URI!")
        source = source_path(ctx, uri, "items")
        with tempfile.TemporaryDirectory(dir=ctx.working_dir()) as scratch:
            parts = split_file(source, Path(scratch), extension_of(uri), _split_spec(ctx, self._owner.batch))
            uris = [ctx.storage.put_file(part) for part in parts]
        path, listing = ctx.storage.new_file("splits.txt")
        path.write_text("\n".join(uris), encoding="utf-8")
        return {"splits": listing}


def _split_spec(ctx: RunContext, batch: Batch) -> Any:
    from flowrun.storage.split import SplitSpec, parse_bytes
    from flowrun.tasks.props import integer

    separator = str(ctx.render(batch.separator))
    try:
        if batch.bytes is not None:
            return SplitSpec(bytes=parse_bytes(str(ctx.render(batch.bytes))), separator=separator)
    except ValueError as exc:
        raise TaskError(f"batch.bytes: {exc}") from None
    if batch.partitions is not None:
        return SplitSpec(partitions=integer(ctx, batch.partitions, "batch.partitions"), separator=separator)
    if batch.regex_pattern is not None:
        return SplitSpec(regex=str(ctx.render(batch.regex_pattern)), separator=separator)
    return SplitSpec(rows=integer(ctx, batch.rows if batch.rows is not None else 1, "batch.rows"),
                     separator=separator)


class ItemsSubflows(_Part):
    """Driven by the executor (a subflow can end WARNING), with one attempt as Kestra records it."""

    flowable: ClassVar[bool] = True

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.engine.foreach_item import run_batches

        listing = self.sibling_outputs("_split").get("splits")
        path = ex.services.storage.local_path(str(listing))
        batches = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return run_batches(ex, self._owner, taskrun, scope, batches)


class MergeOutputs(_Part):
    def run(self, ctx: RunContext) -> dict[str, Any]:
        uri = self.sibling_outputs("_items").get("uri")
        if not uri:
            return {}  # no subflow output (or no subflow at all)
        return {"subflowOutputs": ctx.storage.put_file(ctx.storage.local_path(str(uri)), "outputs.ion")}
