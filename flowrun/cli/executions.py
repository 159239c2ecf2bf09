"""`executions list|show` and `logs`: read past executions from the state DB and print them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from flowrun.cli.complete import execution_ids, flow_ids
from flowrun.cli.options import Home, JsonFlag, err, pairs

group = typer.Typer(no_args_is_help=True, help="List and inspect executions.")


@group.command("list")
def executions_list(
    flow: Annotated[str | None, typer.Option("--flow", help="FLOW_ID or NAMESPACE/FLOW_ID.",
                                              autocompletion=flow_ids)] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only this state, e.g. FAILED (an unknown state "
                                                 "exits 2).")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", metavar="KEY=VALUE",
                                                    help="Only executions with this label (repeatable: all of "
                                                    "them).")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only this namespace and those below "
                                                  "it.")] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="WHEN", help="Only those created at or after "
                                              "WHEN: a date, an ISO datetime (UTC when naive), or a duration "
                                              "ago such as P7D or PT2H.")] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="WHEN", help="Only those created before "
                                              "WHEN (as --since).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.", min=1, max=1_000_000)] = 20,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """List executions, newest first, with their duration and labels.

    Example: flowrun executions list --flow zoomcamp/04_postgres_taxi --state FAILED --label month=2019-01 --since P7D
    """
    from flowrun.app.inspect import ExecutionFilter, list_executions

    where = ExecutionFilter(namespace, since, until, pairs(label, "label"))
    rows = list_executions(home, flow, state, limit, where)
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    from flowrun.cli.views import labels_text
    from flowrun.report.timing import span_text

    for row in rows:
        took = span_text(row["startDate"], row["endDate"])
        typer.echo(f"{row['id']}  {row['state']:<9} {row['startDate'] or '':<28} {took:>8}  "
                   f"{row['namespace']}/{row['flowId']}  {labels_text(row.get('labels'))}")


@group.command("show")
def executions_show(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).",
                                                autocompletion=execution_ids)],
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
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).",
                                                autocompletion=execution_ids)],
    task: Annotated[str | None, typer.Option("--task", help="Only this task's logs (exit 2 if the execution "
                                             "has no such task).")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Only this level and above: TRACE, DEBUG, INFO, "
                                              "WARN or ERROR.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until the execution "
                                         "ends (or pauses), as tail -f; with --json, one JSON object a "
                                         "line.")] = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Print an execution's logs.

    Example: flowrun logs 4bWcR8u3mRkNp2WJmY0E7H --task extract --level WARN   (or: flowrun logs ID --follow)
    """
    from flowrun.app import inspect

    if follow:
        for line in inspect.follow_logs(home, execution_id, task, level):
            typer.echo(json.dumps(line, default=str) if json_output else _log_text(line))
        err(f"execution {execution_id} is {inspect.followed_state(home, execution_id)}")
        return
    lines = inspect.execution_logs(home, execution_id, task, level)
    if json_output:
        typer.echo(json.dumps(lines, indent=2, default=str))
        return
    for line in lines:
        typer.echo(_log_text(line))


def _log_text(line: dict[str, Any]) -> str:
    return f"{line['timestamp']} {line['level']:<5} {line['task_id'] or 'execution'}: {line['message']}"


def add_commands(app: typer.Typer) -> None:
    """Add `logs` to the main CLI (`executions` is a group)."""
    app.command()(logs)
