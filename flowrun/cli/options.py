"""What the commands share: the --home, --json and --latest options; the typer-free helpers of cli/output.py
(key=value pairs, option files, reporters and their summary)."""

from __future__ import annotations

from typing import Annotated

import typer

from flowrun.cli.output import (
                                close_listeners,
                                err,
                                is_tty,
                                pairs,
                                read_option_file,
                                reporter,
                                summarize,
                                write_option_file,
)

__all__ = ["Home", "JsonFlag", "LatestFlag", "close_listeners", "err", "is_tty", "pairs", "read_option_file",
           "reporter", "summarize", "write_option_file"]

Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
LatestFlag = Annotated[bool, typer.Option("--latest", help="Run the flow file as it is now (recorded as a new "
                                          "revision), not the stored revision.")]
