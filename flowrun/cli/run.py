"""`run`, `resume`, `restart` and `replay`: start or continue an execution, follow it, exit with its state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flowrun.cli.complete import execution_ids, flow_refs, trigger_ids
from flowrun.cli.fastrun import finish_run, run_command
from flowrun.cli.jsonout import json_errors
from flowrun.cli.options import Home, JsonFlag, LatestFlag, close_listeners, err, pairs, reporter, summarize


def run(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID of a flow under flows/.",
                                        autocompletion=flow_refs)],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input as key=value (repeatable; "
                                                    "JSON for ARRAY, JSON and MULTISELECT).")] = None,
    inputs: Annotated[list[Path] | None, typer.Option("--inputs", help="A JSON or YAML file of inputs.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="An execution label key=value.")] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Run as this trigger would (its inputs and "
                                                "labels).", autocompletion=trigger_ids)] = None,
    date: Annotated[str | None, typer.Option("--date", help="With --trigger: the schedule date, e.g. "
                                             "2019-03-01T09:00:00.")] = None,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="Most task attempts running at "
                                                     "once (default: maxParallel in flowrun.yaml, else max(32, 8 x CPUs)).",
                                                     show_default=False)] = None,
    detach: Annotated[bool, typer.Option("--detach", help="With the celery executor: hand the whole execution "
                                         "to a worker and exit at once, printing its id.")] = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Run a flow and wait for its end (with --detach, a Celery worker runs it and this exits at once).

    Example: flowrun run flows/hello.yaml --input name=Ana
    """
    raise typer.Exit(run_command(flow, input, inputs, label, trigger, date, max_parallel, detach, json_output,
                                 home))


def _continue(execution_id: str, mode: str, home: str | None, json_output: bool, **kwargs: Any) -> None:
    from flowrun.app.continuation import continue_execution
    from flowrun.secrets import Masker

    listeners = reporter(json_output)
    try:
        with json_errors(json_output):
            execution = continue_execution(execution_id, mode, home, listeners=listeners, notify=err, **kwargs)
        summarize(listeners, execution, Masker())
    finally:
        close_listeners(listeners)
    raise typer.Exit(finish_run(execution, Masker(), json_output))


def resume(
    execution_id: Annotated[str, typer.Argument(help="A PAUSED execution.", autocompletion=execution_ids)],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="A resume input key=value "
                                                    "(exposed as outputs.<pause>.onResume).")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Continue a PAUSED execution in this process: its first PAUSED Pause goes on (SUCCESS), with `--input`
    typed and checked against the Pause's `onResume` inputs.

    Example: flowrun resume 4bWcR8u3mRkNp2WJmY0E7H --input approved=true
    """
    _continue(execution_id, "resume", home, json_output, resume_inputs=pairs(input, "input"))


def restart(
    execution_id: Annotated[str, typer.Argument(help="A FAILED, KILLED or CANCELLED execution.",
                                                autocompletion=execution_ids)],
    latest: LatestFlag = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Re-run the failed task runs of an execution and everything after them, reusing what succeeded.

    The flow is the execution's revision, unless --latest.

    Example: flowrun restart 4bWcR8u3mRkNp2WJmY0E7H --latest
    """
    _continue(execution_id, "restart", home, json_output, latest=latest)


def replay(
    execution_id: Annotated[str, typer.Argument(help="The execution to replay.",
                                                autocompletion=execution_ids)],
    from_task: Annotated[str, typer.Option("--from", help="The task to start again from.")],
    revision: Annotated[int | None, typer.Option("--revision", help="Run this revision of the flow (default: "
                                                 "the execution's).", show_default=False)] = None,
    latest: LatestFlag = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Create a new execution that starts at a task, with the earlier outputs copied.

    Example: flowrun replay 4bWcR8u3mRkNp2WJmY0E7H --from load --revision 2
    """
    _continue(execution_id, "replay", home, json_output, from_task=from_task, revision=revision, latest=latest)


def add_commands(app: typer.Typer) -> None:
    """Add `run`, `resume`, `restart` and `replay` to the main CLI."""
    for command in (run, resume, restart, replay):
        app.command()(command)
