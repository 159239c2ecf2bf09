"""What the commands share: the --home, --json and --latest options, key=value pairs, option files, reporters."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flowrun.errors import UsageError

Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
LatestFlag = Annotated[bool, typer.Option("--latest", help="Run the flow file as it is now (recorded as a new "
                                          "revision), not the stored revision.")]


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


def is_tty(stream: Any) -> bool:
    return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"


def reporter(json_output: bool) -> list[Any]:
    """The live display on a terminal, plain lines otherwise; on stderr when stdout carries JSON."""
    from flowrun.report.console import LiveReporter, PlainReporter

    stream = sys.stderr if json_output else sys.stdout
    return [LiveReporter(stream)] if is_tty(stream) else [PlainReporter(stream)]


def close_listeners(listeners: list[Any]) -> None:
    for listener in listeners:
        getattr(listener, "close", lambda: None)()
