"""Kestra's internal-storage file tasks: Concat, Split, Size, Delete, Reverse and LocalFiles."""

from __future__ import annotations

import codecs
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.props import flag, integer, mapping, strings, text


def source_path(ctx: RunContext, uri: str, name: str) -> Path:
    """The local file behind a `kestra://` property value, or a TaskError naming the property and the URI."""
    uri = uri.strip()
    if not uri.startswith("kestra://"):
        raise TaskError(f"task `{ctx.task_id}`: `{name}` must be a kestra:// internal storage URI, got `{uri}`",
                        {"hint": "pass the URI output of an earlier task, e.g. {{ outputs.download.uri }}"})
    try:
        return ctx.storage.local_path(uri)
    except FlowrunError as exc:
        raise TaskError(f"task `{ctx.task_id}`: `{name}`: {exc.message}", {"uri": uri, "hint": exc.hint}) from None


def extension_of(uri: str) -> str:
    """The extension of a URI's file name (`.csv`), `.tmp` when it has none (as Kestra names its temp files)."""
    return PurePosixPath(unquote(uri.split("?", 1)[0])).suffix or ".tmp"


def _storage(ctx: RunContext) -> Any:
    return ctx.services().storage


class Concat(Task):
    """Concatenate internal-storage files (`files`: a list of kestra:// URIs, or a JSON array of them) into
    one new file; `separator` is written after each file; `extension` (default `.tmp`) ends the new file's
    name. Output: `uri`."""

    files: list[str] | str
    separator: str | None = None
    extension: str = ".tmp"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        uris = strings(ctx, self.files, "files")
        separator = text(ctx, self.separator)
        sources = [source_path(ctx, uri, "files") for uri in uris]
        path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}{text(ctx, self.extension) or ''}")
        with open(path, "wb") as out:
            for source in sources:
                with open(source, "rb") as stream:
                    shutil.copyfileobj(stream, out, 1 << 20)
                if separator is not None:
                    out.write(separator.encode("utf-8"))
        return {"uri": uri}


class Split(Task):
    """Split an internal-storage text file (`from`) into several files, line by line: at most `rows` lines
    each, about `bytes` each (`10MB`, `200KB`; a part ends once it reached the size), into `partitions` files
    (lines dealt round-robin), or one file per value of `regexPattern`'s first group (lines that do not match
    are dropped). Set exactly one. Each line is written followed by `separator` (default `\\n`).
    Output: `uris`, the new files, which keep the extension of `from`."""

    from_: str = Field(alias="from")
    bytes: str | int | None = None
    partitions: int | str | None = None
    rows: int | str | None = None
    regex_pattern: str | None = None
    separator: str = "\n"

    def spec(self, ctx: RunContext) -> Any:
        from flowrun.storage.split import SplitSpec, parse_bytes

        chosen = [name for name, value in (("bytes", self.bytes), ("partitions", self.partitions),
                                           ("rows", self.rows), ("regexPattern", self.regex_pattern))
                  if value is not None]
        if len(chosen) != 1:
            raise TaskError(f"task `{ctx.task_id}`: set exactly one of bytes, partitions, rows or regexPattern"
                            f"{' (got ' + ', '.join(chosen) + ')' if chosen else ''}")
        separator = str(ctx.render(self.separator))
        if self.bytes is not None:
            try:
                return SplitSpec(bytes=parse_bytes(str(ctx.render(self.bytes))), separator=separator)
            except ValueError as exc:
                raise TaskError(f"task `{ctx.task_id}`: `bytes`: {exc}") from None
        if self.partitions is not None:
            return SplitSpec(partitions=integer(ctx, self.partitions, "partitions"), separator=separator)
        if self.rows is not None:
            return SplitSpec(rows=integer(ctx, self.rows, "rows"), separator=separator)
        return SplitSpec(regex=_regex(ctx, str(ctx.render(self.regex_pattern))), separator=separator)

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.storage.split import split_file

        uri = str(ctx.render(self.from_))
        source = source_path(ctx, uri, "from")
        spec = self.spec(ctx)
        with tempfile.TemporaryDirectory(dir=ctx.working_dir()) as scratch:
            parts = split_file(source, Path(scratch), extension_of(uri), spec)
            return {"uris": [ctx.storage.put_file(part) for part in parts]}


def _regex(ctx: RunContext, pattern: str) -> str:
    import re

    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise TaskError(f"task `{ctx.task_id}`: `regexPattern` is not a valid regular expression: {exc}") from None
    if compiled.groups == 0:
        raise TaskError(f"task `{ctx.task_id}`: `regexPattern` needs a capture group: its first group routes "
                        "each line", {"hint": 'e.g. "tableName":\\s*"([^"]+)"'})
    return pattern


class Size(Task):
    """The size in bytes of an internal-storage file (`uri`). Output: `size`."""

    uri: str

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return {"size": source_path(ctx, str(ctx.render(self.uri)), "uri").stat().st_size}


class Delete(Task):
    """Delete an internal-storage file (`uri`). Outputs: `uri` and `deleted` (false when there was no such
    file; with `errorOnMissing`, a missing file fails the task)."""

    uri: str
    error_on_missing: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        uri = str(ctx.render(self.uri)).strip()
        try:
            deleted = _storage(ctx).delete(uri)
        except FlowrunError as exc:
            raise TaskError(f"task `{ctx.task_id}`: `uri`: {exc.message}", {"uri": uri, "hint": exc.hint}) from None
        if not deleted and flag(ctx, self.error_on_missing, "errorOnMissing"):
            raise TaskError(f"task `{ctx.task_id}`: unable to find file `{uri}`",
                            {"hint": "set errorOnMissing: false to ignore a missing file"})
        return {"uri": uri, "deleted": deleted}


class Reverse(Task):
    """Write the lines of an internal-storage text file (`from`) last line first, each followed by
    `separator` (default `\\n`), read and written in `charset` (default UTF-8). Output: `uri`, a new file
    with the extension of `from`. The file's lines are held in memory."""

    from_: str = Field(alias="from")
    separator: str = "\n"
    charset: str = "UTF-8"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.storage.split import read_lines

        uri = str(ctx.render(self.from_))
        source = source_path(ctx, uri, "from")
        separator, charset = str(ctx.render(self.separator)), str(ctx.render(self.charset))
        try:
            codecs.lookup(charset)
        except LookupError:
            raise TaskError(f"task `{ctx.task_id}`: `charset`: unknown charset `{charset}`",
                            {"hint": "use a charset name such as UTF-8 or ISO-8859-1"}) from None
        lines = list(read_lines(source, charset))
        path, new_uri = ctx.storage.new_file(f"{uuid.uuid4().hex}{extension_of(uri)}")
        with open(path, "w", encoding=charset, errors="replace", newline="") as out:
            for line in reversed(lines):
                out.write(line + separator)
        return {"uri": new_uri}


class LocalFiles(Task):
    """Deprecated in Kestra (use `inputFiles`/`outputFiles` of WorkingDirectory and script tasks): inside a
    WorkingDirectory, write `inputs` (a map of relative path to content or kestra:// URI, or a JSON object) into
    the shared directory, then send the files matching the `outputs` globs to internal storage.
    Output: `uris`, a map of relative path to kestra:// URI. Paths may not leave the working directory."""

    inputs: dict[str, Any] | str | None = None
    outputs: list[str] | str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.scripts import files

        directory = ctx.working_dir()
        if self.inputs is not None:
            wanted = mapping(ctx, self.inputs, "inputs")
            files.write_input_files(ctx.storage, directory, {k: "" if v is None else v for k, v in wanted.items()})
        patterns = strings(ctx, self.outputs, "outputs")
        rels = files.match_output_files(directory, patterns, warn=ctx.logger.warn) if patterns else []
        return {"uris": files.upload_output_files(ctx.storage, directory, rels)}
