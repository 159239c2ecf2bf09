"""`server` and `report`: the optional web UI over the project's state, and one execution as an HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowrun.cli.options import Home, err, write_option_file


def server(
    host: Annotated[str, typer.Option("--host", help="Address to bind; any other than 127.0.0.1, ::1 or localhost "
                                      "needs --auth or FLOWRUN_SERVER_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one, printed).", min=0,
                                      max=65535)] = 8080,
    auth: Annotated[str | None, typer.Option("--auth", help="HTTP basic credentials user:password (kept only as "
                                             "a bcrypt hash).", show_default=False)] = None,
    home: Home = None,
) -> None:
    """Serve the web UI: flows, executions with their Gantt and live logs, runs, backfills, the KV store, and
    the Webhook triggers at /api/v1/main/executions/webhook/NAMESPACE/FLOW_ID/KEY.

    Example: flowrun server --port 8080
    """
    from flowrun.web.security import access_from

    access = access_from(host, auth)  # refuses a non-loopback bind without credentials, before any import
    from flowrun.web.serve import serve

    serve(host, port, access, home, notify=err)


def report(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).")],
    html: Annotated[Path, typer.Option("--html", help="The HTML file to write.")],
    home: Home = None,
) -> None:
    """Write one execution as a self-contained HTML file (Gantt, topology, task runs, outputs, logs; inline CSS
    and SVG, no network), to attach to a ticket or a CI artifact.

    Example: flowrun report 4bWcR8u3mRkNp2WJmY0E7H --html report.html
    """
    from flowrun.app.report import execution_report
    from flowrun.report.html import report_html

    found = execution_report(home, execution_id)
    write_option_file(html, report_html(found.execution, found.logs, found.flow), "--html")
    err(f"wrote {html} ({found.execution['namespace']}/{found.execution['flowId']} {found.execution['id']})")


def add_commands(app: typer.Typer) -> None:
    """Add `server` and `report` to the main CLI."""
    app.command()(server)
    app.command()(report)
