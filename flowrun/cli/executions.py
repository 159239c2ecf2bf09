"""`executions list|show` and `logs`: read past executions from the state DB and print them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from flowrun.cli.options import Home, JsonFlag

group = typer.Typer(no_args_is_help=True, help="List and inspect executions.")


@group.command("list")
def executions_list(
    flow: Annotated[str | None, typer.Option("--flow", help="FLOW_ID or NAMESPACE/FLOW_ID.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only this state, e.g. FAILED.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.", min=1, max=1_000_000)] = 20,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """List executions, newest first.

    Example: flowrun executions list --flow zoomcamp/04_postgres_taxi --state FAILED
    """
    from flowrun.app.inspect import list_executions

    rows = list_executions(home, flow, state, limit)
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']}  {row['state']:<9} {row['startDate'] or '':<28} {row['namespace']}/{row['flowId']}")


@group.command("show")
def executions_show(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).")],
    gantt: Annotated[bool, typer.Option("--gantt", help="Draw the task runs on a timeline.")] = False,
    revision: Annotated[bool, typer.Option("--revision", help="Print the flow source of the execution's "
                                           "revision.")] = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Show one execution with its task runs. Secret values are masked.

    Example: flowrun executions show 4bWcR8u3mRkNp2WJmY0E7H --gantt
    """
    if revision:
        from flowrun.cli.flows import echo_execution_revision

        return echo_execution_revision(home, execution_id)
    from flowrun.app.inspect import show_execution

    data = show_execution(home, execution_id)
    if gantt:
        import shutil

        from flowrun.report.gantt import gantt_text

        typer.echo(gantt_text(data, shutil.get_terminal_size().columns))
        return
    if json_output:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    typer.echo(f"{data['namespace']}/{data['flowId']}  {data['id']}  {data['state']}")
    typer.echo(f"  start {data['startDate']}  end {data['endDate']}  revision {data['flowRevision'] or '-'}")
    if data.get("error"):
        typer.echo(f"  error: {data['error']}")
    depth: dict[str, int] = {}
    for tr in data["taskRuns"]:  # children (a flowable's, a dbt task's nodes) are indented under their parent
        depth[tr["id"]] = depth.get(tr["parentTaskRunId"] or "", -1) + 1
        value = f"[{tr['value']}]" if tr["value"] is not None else ""
        typer.echo(f"  {tr['state']:<9} {'  ' * depth[tr['id']]}{tr['taskId']}{value}  attempts={len(tr['attempts'])}"
                   + (f"  error: {tr['error']}" if tr.get("error") else ""))


def logs(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).")],
    task: Annotated[str | None, typer.Option("--task", help="Only this task's logs.")] = None,
    home: Home = None,
) -> None:
    """Print an execution's logs.

    Example: flowrun logs 4bWcR8u3mRkNp2WJmY0E7H --task extract
    """
    from flowrun.app.inspect import execution_logs

    for line in execution_logs(home, execution_id, task):
        typer.echo(f"{line['timestamp']} {line['level']:<5} {line['task_id'] or 'execution'}: {line['message']}")


def add_commands(app: typer.Typer) -> None:
    """Add `logs` to the main CLI (`executions` is a group)."""
    app.command()(logs)
