"""The `flows` command group (`flows revisions`): parse options, call flowrun.app.flows, render."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]

flows_app = typer.Typer(no_args_is_help=True, help="Inspect flows and their stored revisions.")


@flows_app.command("revisions")
def flows_revisions(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID.")],
    show: Annotated[int | None, typer.Option("--show", help="Print the source of this revision.",
                                             show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """List a flow's revisions: number, date, source hash and the executions that ran each.

    Every distinct source of a flow that runs is stored once as the next revision.

    Example: flowrun flows revisions flows/hello.yaml --show 1
    """
    from flowrun.app import flows

    if show is not None:
        typer.echo(flows.revision_source(home, flow, show), nl=False)
        return
    data = flows.flow_revisions(home, flow)
    if json_output:
        typer.echo(json.dumps(data, indent=2))
        return
    for line in _revision_lines(data):
        typer.echo(line)


def _revision_lines(data: dict[str, Any]) -> list[str]:
    title = f"{data['namespace']}/{data['flowId']}"
    if data["file"]:
        where = f"revision {data['fileRevision']}" if data["fileRevision"] else "not a revision yet (it is when it runs)"
        title += f"  ({data['file']} is {where})"
    lines = [title]
    if not data["revisions"]:
        return [*lines, "  no revisions yet"]
    lines.append(f"  {'REV':>4}  {'CREATED':<27}  {'HASH':<12}  EXECUTIONS")
    for rev in data["revisions"]:
        ids = rev["executions"]
        used = ", ".join(ids[:3]) + (f" (+{len(ids) - 3} more)" if len(ids) > 3 else "") if ids else "-"
        lines.append(f"  {rev['revision']:>4}  {rev['created']:<27}  {rev['hash'][:12]}  {used}")
    return lines


def echo_execution_revision(home: str | None, execution_id: str) -> None:
    """`executions show ID --revision`: the revision number on stderr, its flow source on stdout."""
    from flowrun.app.inspect import execution_flow_source

    number, source = execution_flow_source(home, execution_id)
    sys.stderr.write(f"revision {number}\n")
    typer.echo(source, nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")
