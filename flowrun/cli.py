"""The `flowrun` command line: parse options, call `flowrun.api`, render the result, map errors to exit codes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flowrun.errors import ExitCode, FlowrunError, InvalidFlowError, UsageError

if TYPE_CHECKING:
    from flowrun import api
else:
    class _LazyApi:
        """`flowrun.api` imported on first use, so `--help` does not load pydantic and the models."""

        def __getattr__(self, name: str) -> Any:
            import flowrun.api

            return getattr(flowrun.api, name)

    api = _LazyApi()

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, help="Run Kestra-style YAML flows locally: no JVM, no Docker, no server.")
executions_app = typer.Typer(no_args_is_help=True, help="List and inspect executions.")
kv_app = typer.Typer(no_args_is_help=True, help="Read and write the per-namespace KV store.")
app.add_typer(executions_app, name="executions")
app.add_typer(kv_app, name="kv")
def _register_schedule_commands() -> None:
    from flowrun.cli_schedule import register

    register(app)


venvs_app = typer.Typer(no_args_is_help=True, help="Manage the cached virtualenvs of script tasks.")
app.add_typer(venvs_app, name="venvs")

Home = Annotated[str | None, typer.Option("--home", help="State dir (default: FLOWRUN_HOME, flowrun.yaml, "
                                                          "<project>/.flowrun).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


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


def _read_file_arg(path: str, what: str) -> str:
    """The UTF-8 text of a file named on the command line (`@file`); a usage error when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{what} @{path}: cannot read the file ({exc.strerror or exc})",
                         hint="write @ followed by the path of a readable file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} @{path}: not UTF-8 text (byte {exc.start}: {exc.reason})",
                         hint="save the file as UTF-8") from None


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
    from flowrun.inputs import parse_cli_inputs

    cli_inputs, labels, trigger_vars = parse_cli_inputs(input or [], inputs or []), _pairs(label, "label"), None
    if trigger:
        from flowrun.schedule.manual import trigger_for_manual_run

        trigger_vars, t_labels, t_inputs, warning = trigger_for_manual_run(flow, trigger, date, home)
        cli_inputs, labels = {**t_inputs, **cli_inputs}, {**t_labels, **labels}
        if warning:
            _err(f"warning: {warning}")
    elif date:
        raise UsageError("--date needs --trigger", hint="name the Schedule trigger: --trigger ID --date ISO")
    options = api.RunOptions(inputs=cli_inputs, labels=labels, home=home, max_parallel=max_parallel,
                             trigger=trigger_vars)
    flow_obj, execution, services = api.prepare_run(flow, options)
    if trigger_vars and trigger:
        from flowrun.schedule.manual import record_manual_run

        record_manual_run(services.db, flow_obj, trigger, execution)
    options.listeners = _reporter(json_output)
    try:
        execution = api.run_prepared(flow_obj, execution, services, options)
    finally:
        _close(options.listeners)
    _finish_run(execution, services.masker, json_output)


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
    listeners = _reporter(json_output)
    try:
        execution = api.continue_execution(execution_id, mode, home, listeners=listeners, **kwargs)
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
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Re-run the failed task runs of an execution and everything after them, reusing what succeeded.

    Example: flowrun restart 4bWcR8u3mRkNp2WJmY0E7H
    """
    _continue(execution_id, "restart", home, json_output)


@app.command()
def replay(
    execution_id: Annotated[str, typer.Argument(help="The execution to replay.")],
    from_task: Annotated[str, typer.Option("--from", help="The task to start again from.")],
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Create a new execution that starts at a task, with the earlier outputs copied.

    Example: flowrun replay 4bWcR8u3mRkNp2WJmY0E7H --from load
    """
    _continue(execution_id, "replay", home, json_output, from_task=from_task)


@app.command()
def graph(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID.")],
    format: Annotated[str, typer.Option("--format", help="tree, mermaid or dot.")] = "tree",
    home: Home = None,
) -> None:
    """Draw a flow's topology, nested flowables included.

    Example: flowrun graph flows/hello.yaml --format mermaid
    """
    from flowrun.report import graph as pictures

    loaded = api.load_flow_ref(flow, home)
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
    """Validate flow files without running them. Exits 0 when all are valid, 3 otherwise.

    Example: flowrun validate flows/
    """
    results = api.validate_paths(paths, home)
    bad = 0
    for file, problems in results:
        if problems:
            bad += 1
            for problem in problems:
                _err(str(problem))
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
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.", min=1, max=1_000_000)] = 20,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """List executions, newest first.

    Example: flowrun executions list --flow zoomcamp/04_postgres_taxi --state FAILED
    """
    rows = api.list_executions(home, flow, state, limit)
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']}  {row['state']:<9} {row['startDate'] or '':<28} {row['namespace']}/{row['flowId']}")


@executions_app.command("show")
def executions_show(
    execution_id: Annotated[str, typer.Argument(help="An execution id (a unique prefix is enough).")],
    gantt: Annotated[bool, typer.Option("--gantt", help="Draw the task runs on a timeline.")] = False,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """Show one execution with its task runs. Secret values are masked.

    Example: flowrun executions show 4bWcR8u3mRkNp2WJmY0E7H --gantt
    """
    data = api.show_execution(home, execution_id)
    if gantt:
        import shutil

        from flowrun.report.gantt import gantt_text

        typer.echo(gantt_text(data, shutil.get_terminal_size().columns))
        return
    if json_output:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    typer.echo(f"{data['namespace']}/{data['flowId']}  {data['id']}  {data['state']}")
    typer.echo(f"  start {data['startDate']}  end {data['endDate']}")
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
    for line in api.execution_logs(home, execution_id, task):
        typer.echo(f"{line['timestamp']} {line['level']:<5} {line['task_id'] or 'execution'}: {line['message']}")


@kv_app.command("list")
def kv_list(namespace: str, home: Home = None) -> None:
    """List the keys of a namespace.

    Example: flowrun kv list zoomcamp
    """
    for row in api.kv_store(home).list(namespace):
        typer.echo(f"{row['key']}  {row['type']}  expires={row.get('expires_at') or '-'}")


@kv_app.command("get")
def kv_get(namespace: str, key: str, home: Home = None) -> None:
    """Print a value (JSON for maps and lists).

    Example: flowrun kv get zoomcamp GCP_BUCKET_NAME
    """
    value = api.kv_store(home).get(namespace, key, error_on_missing=True)
    typer.echo(value if isinstance(value, str) else json.dumps(value))


@kv_app.command("set")
def kv_set(
    namespace: str, key: str, value: str,
    type_: Annotated[str | None, typer.Option("--type", help="STRING, NUMBER, BOOLEAN, DATETIME, DATE, "
                                              "DURATION or JSON.")] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="ISO-8601 duration, e.g. P1D.")] = None,
    home: Home = None,
) -> None:
    """Set a value. Use `@file` to read the value from a file.

    Example: flowrun kv set zoomcamp GCP_CREDS @service-account.json --type JSON
    """
    if value.startswith("@"):
        value = _read_file_arg(value[1:], "value")
    api.kv_store(home).set(namespace, key, value, kv_type=type_.upper() if type_ else None, ttl=ttl)


@kv_app.command("delete")
def kv_delete(namespace: str, key: str, home: Home = None) -> None:
    """Delete a key.

    Example: flowrun kv delete zoomcamp GCP_CREDS
    """
    if not api.kv_store(home).delete(namespace, key):
        raise UsageError(f"no key `{key}` in namespace `{namespace}`")


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
    data = None
    if context:
        text = Path(context[1:]).read_text(encoding="utf-8") if context.startswith("@") else context
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--context is not valid JSON: {exc}") from None
    typer.echo(api.render_expression(expression, data, flow, _pairs(input, "input"), execution, home))


@app.command()
def purge(
    before: Annotated[str, typer.Option("--before", help="ISO date: executions started before it go.")],
    home: Home = None,
) -> None:
    """Delete old executions: their rows, logs and internal-storage files.

    Example: flowrun purge --before 2026-01-01
    """
    counts = api.purge(home, before)
    typer.echo(f"purged {counts['executions']} execution(s) and {counts['files']} file(s)")


@venvs_app.command("list")
def venvs_list(home: Home = None) -> None:
    """List the cached virtualenvs with their size and last use.

    Example: flowrun venvs list
    """
    from flowrun.project import open_project
    from flowrun.venvs_cli import list_venvs

    for venv in list_venvs(open_project(home).home):
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
    from flowrun.durations import parse_duration
    from flowrun.project import open_project
    from flowrun.venvs_cli import prune_venvs

    removed = prune_venvs(open_project(home).home, parse_duration(older_than) if older_than else None)
    typer.echo(f"removed {len(removed)} virtualenv(s)")


_register_schedule_commands()


def main() -> None:
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except FlowrunError as exc:
        _report(exc, debug)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(ExitCode.FLOW_FAILED)
    except Exception as exc:  # click usage errors and real bugs
        _handle_unexpected(exc, debug)


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

    if type(exc).__name__ == "Abort":
        _err("aborted")
        sys.exit(ExitCode.FLOW_FAILED)
    if isinstance(exc, click_errors.ClickException):
        exc.show()
        sys.exit(ExitCode.USAGE)
    if debug:
        raise exc
    _err(f"error: internal error: {type(exc).__name__}: {exc}")
    _err("hint: run again with --debug for the traceback, and report it")
    sys.exit(ExitCode.STATE)
