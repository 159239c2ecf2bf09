"""The `flowrun` command line: parse options, call `flowrun.app`, render the result, map errors to exit codes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flowrun import cli_state
from flowrun.cli_kv import kv_app, read_option_file
from flowrun.errors import EXIT_CODE_MEANINGS, ExitCode, FlowrunError, InvalidFlowError, UsageError

_EXIT_CODES = "Exit codes:\n\n\b\n" + "\n".join(f"{code}  {text}" for code, text in EXIT_CODE_MEANINGS.items())
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Run Kestra-style YAML flows locally: no JVM, no Docker, no server.",
                  epilog=_EXIT_CODES)
executions_app = typer.Typer(no_args_is_help=True, help="List and inspect executions.")
app.add_typer(executions_app, name="executions")
app.add_typer(kv_app, name="kv")
def _register_schedule_commands() -> None:
    from flowrun.cli_flows import register as register_flows
    from flowrun.cli_schedule import register

    register(app)
    register_flows(app)


venvs_app = typer.Typer(no_args_is_help=True, help="Manage the cached virtualenvs of script tasks.")
app.add_typer(venvs_app, name="venvs")

Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
LatestFlag = Annotated[bool, typer.Option("--latest", help="Run the flow file as it is now (recorded as a new "
                                          "revision), not the stored revision.")]


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in values or []:
        if "=" not in item:
            raise UsageError(f"{what} `{item}` must look like key=value")
        key, _, value = item.partition("=")
        result[key.strip()] = value
    return result


def _reporter(json_output: bool) -> list[Any]:
    from flowrun.report.console import LiveReporter, PlainReporter

    stream = sys.stderr if json_output else sys.stdout
    if stream.isatty() and os.environ.get("TERM") != "dumb":
        return [LiveReporter(stream)]
    return [PlainReporter(stream)]


@app.command()
def run(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID of a flow under flows/.")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input as key=value (repeatable; "
                                                    "JSON for ARRAY, JSON and MULTISELECT).")] = None,
    inputs: Annotated[list[Path] | None, typer.Option("--inputs", help="A JSON or YAML file of inputs.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="An execution label key=value.")] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="Run as this trigger would (its inputs and "
                                                "labels).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="With --trigger: the schedule date, e.g. "
                                             "2019-03-01T09:00:00.")] = None,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="Most task attempts running at "
                                                     "once (default: maxParallel in flowrun.yaml, else 2 x CPUs).",
                                                     show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Run a flow and wait for its end.

    Example: flowrun run flows/hello.yaml --input name=Ana
    """
    from flowrun.app.run import RunOptions, start_execution
    from flowrun.inputs import parse_cli_inputs

    cli_inputs = parse_cli_inputs(input or [], inputs or [])
    options = RunOptions(inputs=cli_inputs, labels=_pairs(label, "label"), home=home, max_parallel=max_parallel,
                         strict_inputs=set(cli_inputs))  # what the user typed must be declared
    started = start_execution(flow, options, trigger, date, notify=_err)
    listeners = started.options.listeners
    listeners.extend(_reporter(json_output))
    try:
        execution = started.run()
    finally:
        _close(listeners)
    _finish_run(execution, started.services.masker, json_output)


def _close(listeners: list[Any]) -> None:
    for listener in listeners:
        getattr(listener, "close", lambda: None)()


def _finish_run(execution: Any, masker: Any, json_output: bool) -> None:
    """Print the execution document (with --json), say how to continue a paused run, exit with its code."""
    if json_output:
        from flowrun.crypto import mask_sealed

        document = execution.to_json()
        document["inputs"] = _mask_inputs(document["inputs"], execution.secret_inputs)
        document = json.loads(masker.mask(json.dumps(mask_sealed(document), default=str)))
        typer.echo(json.dumps(document, indent=2, default=str))
    if execution.state == "PAUSED":
        _err(f"execution {execution.id} is PAUSED; continue it with: flowrun resume {execution.id} [--input k=v]")
    raise typer.Exit(_exit_code(execution.state))


def _continue(execution_id: str, mode: str, home: str | None, json_output: bool, **kwargs: Any) -> None:
    from flowrun.app.continuation import continue_execution

    listeners = _reporter(json_output)
    try:
        execution = continue_execution(execution_id, mode, home, listeners=listeners, notify=_err, **kwargs)
    finally:
        _close(listeners)
    from flowrun.secrets import Masker

    _finish_run(execution, Masker(), json_output)


@app.command()
def resume(
    execution_id: Annotated[str, typer.Argument(help="A PAUSED execution.")],
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="A resume input key=value "
                                                    "(exposed as outputs.<pause>.onResume).")] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Continue a PAUSED execution in this process.

    Example: flowrun resume 4bWcR8u3mRkNp2WJmY0E7H --input approved=true
    """
    _continue(execution_id, "resume", home, json_output, resume_inputs=_pairs(input, "input"))


@app.command()
def restart(
    execution_id: Annotated[str, typer.Argument(help="A FAILED, KILLED or CANCELLED execution.")],
    latest: LatestFlag = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Re-run the failed task runs of an execution and everything after them, reusing what succeeded.

    The flow is the execution's revision, unless --latest.

    Example: flowrun restart 4bWcR8u3mRkNp2WJmY0E7H --latest
    """
    _continue(execution_id, "restart", home, json_output, latest=latest)


@app.command()
def replay(
    execution_id: Annotated[str, typer.Argument(help="The execution to replay.")],
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


@app.command()
def graph(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID.")],
    format: Annotated[str, typer.Option("--format", help="tree, mermaid or dot.")] = "tree",
    home: Home = None,
) -> None:
    """Draw a flow's topology, nested flowables included.

    Example: flowrun graph flows/hello.yaml --format mermaid
    """
    from flowrun.app.flows import load_flow_ref
    from flowrun.report import graph as pictures

    loaded = load_flow_ref(flow, home)
    if format == "tree":
        from rich.console import Console

        Console().print(pictures.graph_tree(loaded))
    elif format in ("mermaid", "dot"):
        typer.echo(pictures.graph_mermaid(loaded) if format == "mermaid" else pictures.graph_dot(loaded))
    else:
        raise UsageError(f"unknown format `{format}`", hint="use tree, mermaid or dot")


def _mask_inputs(inputs: dict[str, Any], secret_ids: set[str]) -> dict[str, Any]:
    return {k: ("******" if k in secret_ids and v is not None else v) for k, v in inputs.items()}


def _exit_code(state: str) -> int:
    if state in ("SUCCESS", "WARNING"):
        return ExitCode.OK
    if state == "PAUSED":
        return ExitCode.PAUSED
    return ExitCode.FLOW_FAILED


@app.command()
def validate(
    paths: Annotated[list[str], typer.Argument(help="Flow files or directories (searched recursively).")],
    home: Home = None,
) -> None:
    """Validate flow files without running them. Exits 0 when all are valid (warnings allowed), 3 otherwise.

    Example: flowrun validate flows/
    """
    from flowrun.app.flows import validate_paths

    results = validate_paths(paths, home)
    bad = 0
    for file, problems in results:
        for problem in problems:
            _err(str(problem))
        if any(problem.is_error for problem in problems):
            bad += 1
        else:
            typer.echo(f"ok  {file}")
    if not results:
        raise UsageError("no flow files found", hint="pass a .yaml file or a directory holding some")
    if bad:
        _err(f"{bad} of {len(results)} flow file(s) invalid")
        raise typer.Exit(ExitCode.INVALID)


@executions_app.command("list")
def executions_list(
    flow: Annotated[str | None, typer.Option("--flow", help="FLOW_ID or NAMESPACE/FLOW_ID.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only this state, e.g. FAILED.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
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


@executions_app.command("show")
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
        from flowrun.cli_flows import echo_execution_revision

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
    for tr in data["taskRuns"]:
        value = f"[{tr['value']}]" if tr["value"] is not None else ""
        typer.echo(f"  {tr['state']:<9} {tr['taskId']}{value}  attempts={len(tr['attempts'])}"
                   + (f"  error: {tr['error']}" if tr.get("error") else ""))


@app.command()
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


@app.command()
def render(
    expression: Annotated[str, typer.Argument(help="A Pebble template, e.g. \"{{ inputs.name | upper }}\".")],
    context: Annotated[str | None, typer.Option("--context", help="JSON context, or @file.json.")] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Render in this flow's context.")] = None,
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="Input key=value for --flow.")] = None,
    execution: Annotated[str | None, typer.Option("--execution", help="Render in a past execution's "
                                                  "context.")] = None,
    home: Home = None,
) -> None:
    """Print what an expression renders to: the expression debugger.

    Example: flowrun render "{{ 'x_' ~ (trigger.date | date('yyyy-MM')) }}" --context '{"trigger": {"date": "2019-01-01T09:00:00Z"}}'
    """
    from flowrun.app.render import render_expression

    data = _render_context(context) if context else None
    typer.echo(render_expression(expression, data, flow, _pairs(input, "input"), execution, home))


def _render_context(context: str) -> dict[str, Any]:
    """The `--context` JSON object, given inline or as @file."""
    text = read_option_file(context[1:], f"--context {context}") if context.startswith("@") else context
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--context is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--context must be a JSON object, got a {type(data).__name__}",
                         hint='e.g. --context \'{"inputs": {"name": "Ana"}}\'')
    return data


def _register_purge_command() -> None:
    from flowrun.cli_purge import register

    register(app)


_register_purge_command()


@venvs_app.command("list")
def venvs_list(home: Home = None) -> None:
    """List the cached virtualenvs with their size and last use.

    Example: flowrun venvs list
    """
    from flowrun.app.inspect import list_venvs

    for venv in list_venvs(home):
        typer.echo("  ".join(f"{k}={v}" for k, v in venv.items()))


@venvs_app.command("prune")
def venvs_prune(
    older_than: Annotated[str | None, typer.Option("--older-than", help="ISO-8601 duration, e.g. P7D; "
                                                   "default: remove every cached venv.")] = None,
    home: Home = None,
) -> None:
    """Remove cached virtualenvs (all, or those unused for a while).

    Example: flowrun venvs prune --older-than P7D
    """
    from flowrun.app.inspect import prune_venvs
    from flowrun.durations import parse_duration

    removed = prune_venvs(home, parse_duration(older_than) if older_than else None)
    typer.echo(f"removed {len(removed)} virtualenv(s)")


_register_schedule_commands()
cli_state.register(app)


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except FlowrunError as exc:
        _report(exc, debug)
        sys.exit(exit_code_for(exc))
    except typer.Exit as exc:
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt as exc:
        _err("interrupted")
        sys.exit(exit_code_for(exc))
    except Exception as exc:  # click usage errors and real bugs
        _handle_unexpected(exc, debug)


def exit_code_for(exc: BaseException) -> int:
    """The code the CLI exits with when `exc` ends a command (the README's "Exit codes" table)."""
    from typer._click import exceptions as click_errors

    if isinstance(exc, FlowrunError):
        return exc.exit_code
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        return ExitCode.FLOW_FAILED
    if isinstance(exc, click_errors.ClickException):
        return ExitCode.USAGE
    return ExitCode.STATE  # an internal error


def _report(exc: FlowrunError, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    prefix = "invalid: " if isinstance(exc, InvalidFlowError) and len(exc.problems) == 1 else ""
    _err(f"error: {prefix}{exc.message}" if "\n" not in exc.message else f"error:\n{exc.message}")
    if exc.hint:
        _err(f"hint: {exc.hint}")


def _handle_unexpected(exc: Exception, debug: bool) -> None:
    from typer._click import exceptions as click_errors

    if isinstance(exc, typer.Abort):
        _err("aborted")
    elif isinstance(exc, click_errors.ClickException):
        exc.show()
    elif debug:
        raise exc
    else:
        _err(f"error: internal error: {type(exc).__name__}: {exc}")
        _err("hint: run again with --debug for the traceback, and report it")
    sys.exit(exit_code_for(exc))
