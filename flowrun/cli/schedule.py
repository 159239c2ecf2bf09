"""`backfill`, `tick` and `schedule list|cron`: run and inspect a project's schedule triggers."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from flowrun.cli.complete import flow_refs, trigger_ids
from flowrun.cli.options import Home, JsonFlag, is_tty, pairs
from flowrun.errors import ExitCode, UsageError

group = typer.Typer(no_args_is_help=True, help="Inspect schedule triggers; print the crontab line.")


def backfill(
    flow: Annotated[str, typer.Argument(help="A flow file or NAMESPACE/FLOW_ID; `list` shows past backfills.",
                                        autocompletion=flow_refs)],
    from_: Annotated[str | None, typer.Option("--from", help="First date (2019-01-01 or a full timestamp).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date, inclusive (a bare date is its whole day).")] = None,
    trigger: Annotated[list[str] | None, typer.Option("--trigger", help="Only this trigger (repeatable; "
                                                      "default: every Schedule trigger).",
                                                      autocompletion=trigger_ids)] = None,
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input key=value.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="An extra label key=value.")] = None,
    parallel: Annotated[int, typer.Option("--parallel", help="Dates run at once (0: 1 locally, 16 with the "
                                          "celery executor, where each date runs on a worker).")] = 0,
    reprocess: Annotated[str, typer.Option("--reprocess", help="missing, failed or all.")] = "missing",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print each date and its action; run nothing.")] = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Replay a flow's schedule over a window of dates, each date at most once unless --reprocess says so.

    `flowrun backfill list` shows past backfills and their counts. Ctrl-C stops cleanly; the same command
    again continues where it stopped.

    Example: flowrun backfill flows/taxi.yaml --from 2019-01-01 --to 2019-12-31 --parallel 4
    """
    if flow == "list":
        _backfill_list(home, json_output)
        return
    if not from_ or not to:
        raise UsageError("backfill needs --from and --to", hint="e.g. --from 2019-01-01 --to 2019-12-31")
    from flowrun.app.backfill import BackfillRequest
    from flowrun.app.backfill import backfill as run_backfill
    from flowrun.schedule import progress as views

    request = BackfillRequest(flow, from_, to, trigger or None, pairs(input, "input"), pairs(label, "label"),
                              parallel, reprocess.lower(), dry_run, home)
    stream = sys.stderr if json_output else sys.stdout
    view = None if dry_run else (views.LiveProgress if is_tty(stream) else views.PlainProgress)(stream)
    result = run_backfill(request, view)
    if json_output:
        typer.echo(json.dumps(_result_json(result), indent=2))
    elif dry_run:
        typer.echo("\n".join(views.plan_table(result)))
    else:
        typer.echo(views.summary(result))
    if result.failed or result.interrupted:
        raise typer.Exit(ExitCode.FLOW_FAILED)


def _result_json(result: Any) -> dict[str, Any]:
    return {"id": result.id, "flow": result.flow, "interrupted": result.interrupted, "dates": [
        {"date": p.date_text, "trigger": p.trigger_id, "latestState": p.latest_state,
         "latestExecutionId": p.latest_execution, "action": p.action, "note": p.note, "state": p.state,
         "executionId": p.execution_id} for p in result.plans]}


def _backfill_list(home: str | None, json_output: bool) -> None:
    from flowrun.app.backfill import list_backfills

    rows = list_backfills(home)
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']}  {row['flow']}  {row['from']} .. {row['to']}  {row['state']:<11}  "
                   f"{row['total']} dates: {row['succeeded']} ok, {row['failed']} failed, {row['skipped']} skipped"
                   f"  ({row['createdAt']})")
    if not rows:
        typer.echo("no backfills yet")


def tick(
    path: Annotated[str | None, typer.Argument(help="The project dir (default: the current one).")] = None,
    now: Annotated[str | None, typer.Option("--now", help="The clock, as ISO-8601 (default: now).")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Run every schedule date that fell due since the last tick, each exactly once; poll the http.Triggers whose
    interval has passed; resume the PAUSED executions whose pause delay has passed. Meant for cron:
    `* * * * * cd /proj && flowrun tick` (see `flowrun schedule cron`).

    Example: flowrun tick --now 2019-01-02T00:00:00Z
    """
    from flowrun.cli.fastrun import tick_command

    raise typer.Exit(tick_command(path, now, json_output, home))


@group.command("list")
def schedule_list(
    count: Annotated[int, typer.Option("--count", "-n", help="How many next dates to show.", min=1, max=1000)] = 5,
    now: Annotated[str | None, typer.Option("--now", help="The clock, as ISO-8601 (default: now).")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Show every schedule trigger of the project with its next dates and its last run.

    Example: flowrun schedule list
    """
    from flowrun.app.tick import list_schedules

    rows, problems = list_schedules(home, now, count)
    for problem in problems:
        sys.stderr.write(f"warning: {problem}\n")
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        last = row["lastRun"]
        state = "enabled" if row["enabled"] else f"DISABLED ({row['disabledReason']})"
        typer.echo(f"{row['flow']}  {row['trigger']}  {row['schedule']}  {row['timezone']}  {state}")
        typer.echo(f"  last run: {last['date'] + ' ' + str(last['state']) if last else '-'}")
        typer.echo(f"  next: {', '.join(row['next']) or '-'}")
    if not rows:
        typer.echo("no schedule triggers in this project")


@group.command("cron")
def schedule_cron(home: Home = None) -> None:
    """Print the crontab line that ticks this project every minute (install it with `crontab -e`).

    Example: flowrun schedule cron >> my.crontab
    """
    from flowrun.app.tick import cron_line

    typer.echo(cron_line(home))


def add_commands(app: typer.Typer) -> None:
    """Add `backfill` and `tick` to the main CLI (`schedule` is a group)."""
    app.command("backfill")(backfill)
    app.command("tick")(tick)
