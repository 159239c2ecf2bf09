"""`purge`: parse the cutoff and filters, list what matches, confirm, call `flowrun.app.purge`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flowrun.cli.options import Home
from flowrun.errors import UsageError

if TYPE_CHECKING:
    from flowrun.state.records import ExecutionFilter

_SHOWN_BEFORE_ASKING = 10


def purge(
    before: Annotated[str | None, typer.Option("--before", help="Executions that ended before this go: an ISO "
                                               "date (2026-01-31), date-time (2026-01-31T12:00:00Z; without an "
                                               "offset, local time) or an ISO-8601 duration back from now (P30D, "
                                               "PT12H).", show_default=False)] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow: NAMESPACE/FLOW_ID or FLOW_ID.",
                                             show_default=False)] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only this namespace and its child "
                                                  "namespaces.", show_default=False)] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only executions in this state (repeatable): "
                                                    "SUCCESS, WARNING, FAILED, KILLED, CANCELLED, SKIPPED or "
                                                    "RETRIED.", show_default=False)] = None,
    keep_last: Annotated[int, typer.Option("--keep-last", min=0, help="Never purge the N most recent executions "
                                           "of each flow, whatever their date or state.")] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be purged; delete nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking (needed when stdin is not a "
                                      "terminal).")] = False,
    home: Home = None,
) -> None:
    """Delete old executions: their rows, task runs, logs, metrics and internal-storage files.

    Unfinished executions (RUNNING, PAUSED, QUEUED, CREATED, RETRYING, KILLING, RESTARTED) are never purged.
    On a terminal, flowrun lists what would go and asks first unless --yes is given. When stdin is not a
    terminal (cron, scripts, CI) it cannot ask: it deletes only with --yes, and otherwise exits 2 with nothing
    deleted. Give --before, --keep-last or both.

    Example: flowrun purge --before P30D --keep-last 5 --dry-run
    """
    from flowrun.app import purge as api

    spec = build_filter(before, flow, namespace, state, keep_last)
    selection = api.purge_selection(home, spec)
    executions = selection.purgeable
    if dry_run:
        _list(executions)
        typer.echo(f"would purge {len(executions)} execution(s); nothing deleted (--dry-run)")
    elif executions and _confirmed(executions, yes):
        counts = api.purge(home, executions)
        typer.echo(f"purged {counts['executions']} execution(s) and {counts['files']} file(s) "
                   f"({counts['logs']} log line(s), {counts['metrics']} metric(s))")
    elif not executions:
        typer.echo("purged 0 execution(s) and 0 file(s): nothing matched")
    else:
        typer.echo("nothing deleted")
    if selection.unfinished:
        states = sorted({item["state"] for item in selection.unfinished})
        typer.echo(f"kept {len(selection.unfinished)} unfinished execution(s) that match ({', '.join(states)}): "
                   "unfinished executions are never purged")


def build_filter(before: str | None, flow: str | None, namespace: str | None, states: list[str] | None,
                 keep_last: int) -> ExecutionFilter:
    """The options as a filter; UsageError (exit 2) for a bad cutoff, state or flow."""
    from flowrun.state.cutoff import ACCEPTED, CutoffError, parse_cutoff, utc_stamp
    from flowrun.state.records import ExecutionFilter

    if before is None and not keep_last:
        raise UsageError("purge needs --before, --keep-last or both", hint="e.g. flowrun purge --before P30D "
                         "--dry-run; nothing was deleted")
    cutoff = None
    if before is not None:
        try:
            cutoff = utc_stamp(parse_cutoff(before))
        except CutoffError as exc:
            raise UsageError(f"--before: {exc}", hint=f"--before takes {ACCEPTED}; nothing was deleted") from None
    flow_namespace, flow_id = _flow(flow, namespace)
    return ExecutionFilter(ended_before=cutoff, namespace=flow_namespace, flow_id=flow_id,
                           states=_states(states or []), keep_last=keep_last)


def _flow(flow: str | None, namespace: str | None) -> tuple[str | None, str | None]:
    if not flow:
        return namespace, None
    flow_namespace, _, flow_id = flow.rpartition("/")
    if not flow_id:
        raise UsageError(f"--flow `{flow}` names no flow id", hint="write NAMESPACE/FLOW_ID or FLOW_ID")
    if flow_namespace and namespace and flow_namespace != namespace:
        raise UsageError(f"--flow `{flow}` is not in --namespace `{namespace}`",
                         hint="give the namespace once, in --flow or in --namespace")
    return flow_namespace or namespace, flow_id


def _states(values: list[str]) -> tuple[str, ...]:
    from flowrun.model.execution import STATES
    from flowrun.state.purge import FINISHED

    wanted = tuple(dict.fromkeys(value.strip().upper() for value in values))
    for value in wanted:
        if value in STATES and value not in FINISHED:
            raise UsageError(f"--state {value}: {value} executions are never purged",
                             hint=f"--state takes {', '.join(FINISHED)}")
        if value not in FINISHED:
            raise UsageError(f"--state `{value}` is not an execution state", hint=f"use {', '.join(FINISHED)}")
    return wanted


def _list(executions: list[dict[str, Any]], limit: int | None = None) -> None:
    for item in executions[:limit]:
        typer.echo(f"  {item['id']}  {item['namespace']}/{item['flowId']}  {item['state']}  "
                   f"ended {item['endDate'] or item['startDate'] or '-'}")
    if limit is not None and len(executions) > limit:
        typer.echo(f"  ... and {len(executions) - limit} more (see them all with --dry-run)")


def _confirmed(executions: list[dict[str, Any]], yes: bool) -> bool:
    """--yes, or the user's answer on a terminal. Without a terminal and --yes: UsageError, nothing deleted."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"purge would delete {len(executions)} execution(s), but stdin is not a terminal, so "
                         "flowrun cannot ask first; nothing was deleted",
                         hint="add --yes to delete them, or --dry-run to list them")
    _list(executions, _SHOWN_BEFORE_ASKING)
    return typer.confirm(f"Delete these {len(executions)} execution(s) for good?", default=False, err=True)


def add_commands(app: typer.Typer) -> None:
    """Add `purge` to the main CLI."""
    app.command("purge")(purge)
