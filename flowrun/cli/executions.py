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
    state: Annotated[str | None, typer.Option("--state", help="Only this state, e.g. FAILED (an unknown state "
                                                 "exits 2).")] = None,
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
    from flowrun.cli.views import duration_text, labels_text

    for row in rows:
        took = duration_text(row["startDate"], row["endDate"])
        typer.echo(f"{row['id']}  {row['state']:<9} {row['startDate'] or '':<28} {took:>8}  "
                   f"{row['namespace']}/{row['flowId']}  {labels_text(row.get('labels'))}")


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
    from flowrun.cli.views import execution_lines

    for line in execution_lines(data):
        typer.echo(line)


def logs(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).")],
    task: Annotated[str | None, typer.Option("--task", help="Only this task's logs (exit 2 if the execution "
                                             "has no such task).")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Only this level and above: TRACE, DEBUG, INFO, "
                                              "WARN or ERROR.")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Print an execution's logs.

    Example: flowrun logs 4bWcR8u3mRkNp2WJmY0E7H --task extract --level WARN
    """
    from flowrun.app.inspect import execution_logs

    lines = execution_logs(home, execution_id, task, level)
    if json_output:
        typer.echo(json.dumps(lines, indent=2, default=str))
        return
    for line in lines:
        typer.echo(f"{line['timestamp']} {line['level']:<5} {line['task_id'] or 'execution'}: {line['message']}")


def add_commands(app: typer.Typer) -> None:
    """Add `logs` to the main CLI (`executions` is a group)."""
    app.command()(logs)
