"""What the commands print and read without the CLI library: stderr lines, key=value pairs, option files,
reporters (typer-free, so that `flowrun run`'s fast path in cli/fastrun.py imports no typer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flowrun.errors import UsageError


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """`key=value` options as a dict; UsageError for one without `=`."""
    result: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{what} `{item}` must look like key=value")
        result[key.strip()] = value
    return result


def read_option_file(path: str, what: str) -> str:
    """The UTF-8 text of a file named on the command line; a clear usage error when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what}: the file is not UTF-8 text (byte {exc.start})",
                         hint="convert it to UTF-8, e.g. iconv -f latin1 -t utf-8") from None
    except OSError as exc:
        raise UsageError(f"{what}: cannot read the file ({exc.strerror or exc})") from None


def write_option_file(path: Path, text: str, what: str) -> None:
    """Write UTF-8 text to a file named on the command line; a clear usage error when it cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot write the file ({exc.strerror or exc})",
                         hint="name a file in a folder that exists and that you may write to") from None


def is_tty(stream: Any) -> bool:
    return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"


def reporter(json_output: bool) -> list[Any]:
    """The live display on a terminal, plain lines otherwise; on stderr when stdout carries JSON."""
    from flowrun.report.console import LiveReporter, PlainReporter

    stream = sys.stderr if json_output else sys.stdout
    return [LiveReporter(stream)] if is_tty(stream) else [PlainReporter(stream)]


def summarize(listeners: list[Any], execution: Any, masker: Any) -> None:
    """Give each console listener the ended execution and its flow outputs (secrets masked) to close with."""
    if not any(hasattr(listener, "summary") for listener in listeners):
        return
    outputs = masker.mask_document(execution.outputs or {})
    for listener in listeners:
        getattr(listener, "summary", lambda *_: None)(execution, outputs)


def close_listeners(listeners: list[Any]) -> None:
    for listener in listeners:
        getattr(listener, "close", lambda: None)()
