"""`flowrun run` and `flowrun tick` without typer: their bodies, and their command lines parsed when every token
is understood.

Building the typer app and its parameters costs more than a cached run itself (typer builds a pydantic
TypeAdapter per parameter: ~60 ms here), so `main()` first offers the arguments to `parse_fast`. It accepts only
`run FLOW` and `tick [PATH]` with the options in `OPTIONS` / `TICK_OPTIONS`, each written as `--name VALUE`,
`--name=VALUE` or `-x VALUE`; anything else (help, an unknown option, a value that is not a plain number, a
missing value...) returns None and typer parses the command line as before, errors and all.
tests/cli/test_fastrun.py checks the tables against the typer commands' own parameters.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.cli.jsonout import json_errors
from flowrun.cli.output import close_listeners, err, pairs, reporter, summarize
from flowrun.cli.startup import resume_collection
from flowrun.errors import ExitCode

if TYPE_CHECKING:
    from flowrun.model.execution import Execution
    from flowrun.secrets import Masker

#: option spelling -> (parameter name, how its value is kept: "list", "one", "int" or "flag")
OPTIONS = {"--input": ("input", "list"), "-i": ("input", "list"), "--inputs": ("inputs", "list"),
           "--label": ("label", "list"), "-l": ("label", "list"), "--trigger": ("trigger", "one"),
           "--date": ("date", "one"), "--max-parallel": ("max_parallel", "int"), "--detach": ("detach", "flag"),
           "--json": ("json_output", "flag"), "--home": ("home", "one")}
TICK_OPTIONS = {"--now": ("now", "one"), "--json": ("json_output", "flag"), "--home": ("home", "one")}
_NUMBER = re.compile(r"[0-9]+")


def parse_fast(argv: list[str]) -> tuple[Callable[..., int], dict[str, Any]] | None:
    """The command function and its keyword arguments for `argv`; None when typer must parse it."""
    if argv and argv[0] == "run":
        found = parse_run(argv)
        return None if found is None else (run_command, found)
    if argv and argv[0] == "tick":
        found = _parse(argv, TICK_OPTIONS, "path", required=False)
        return None if found is None else (tick_command, found)
    return None


def parse_run(argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of `run_command` for `run FLOW [OPTIONS]`; None when typer must parse `argv`."""
    if not argv or argv[0] != "run":
        return None
    found = _parse(argv, OPTIONS, "flow", required=True)
    if found is not None and "inputs" in found:
        found["inputs"] = [Path(item) for item in found["inputs"]]
    return found


def _parse(argv: list[str], options: dict[str, tuple[str, str]], positional: str,
           required: bool) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    flows: list[str] = []
    tokens = iter(argv[1:])
    for token in tokens:
        if not token.startswith("-") or token == "-":
            flows.append(token)
            continue
        spelling, sep, inline = token.partition("=")
        if spelling not in options or (sep and not spelling.startswith("--")):
            return None
        name, kind = options[spelling]
        if kind == "flag":
            if sep:
                return None
            found[name] = True
            continue
        value = inline if sep else next(tokens, None)
        if value is None or (not sep and value.startswith("-")) or not _keep(found, name, kind, value):
            return None
    if len(flows) > 1 or (required and not flows):
        return None
    if flows:
        found[positional] = flows[0]
    return found


def _keep(found: dict[str, Any], name: str, kind: str, value: str) -> bool:
    if kind == "list":
        found.setdefault(name, []).append(value)
    elif kind == "int":
        if not _NUMBER.fullmatch(value):
            return False
        found[name] = int(value)
    else:
        found[name] = value  # the last one wins, as with click
    return True


def run_command(flow: str, input: list[str] | None = None, inputs: list[Path] | None = None,
                label: list[str] | None = None, trigger: str | None = None, date: str | None = None,
                max_parallel: int | None = None, detach: bool = False, json_output: bool = False,
                home: str | None = None) -> int:
    """Run a flow to its end, print what `flowrun run` prints; the exit code of its state (with `detach`, hand
    it to a Celery worker and print its id)."""
    from flowrun.app.run import RunOptions, start_execution

    with json_errors(json_output):
        cli_inputs: dict[str, Any] = {}
        if input or inputs:
            from flowrun.inputs import parse_cli_inputs

            cli_inputs = parse_cli_inputs(input or [], inputs or [])
        options = RunOptions(inputs=cli_inputs, labels=pairs(label, "label"), home=home,
                             max_parallel=max_parallel, strict_inputs=set(cli_inputs))  # typed inputs must exist
        if detach:
            return _detach(flow, options, trigger, date, json_output)
        started = start_execution(flow, options, trigger, date, notify=err)
        resume_collection()
        listeners = started.options.listeners
        listeners.extend(reporter(json_output))
        try:
            execution = started.run()
            summarize(listeners, execution, started.services.masker)
        finally:
            close_listeners(listeners)
    return finish_run(execution, started.services.masker, json_output)


def _detach(flow: str, options: Any, trigger: str | None, date: str | None, json_output: bool) -> int:
    from flowrun.app.enqueue import enqueue_run

    execution = enqueue_run(flow, options, trigger, date, notify=err)
    if json_output:
        _out(json.dumps({"id": execution.id, "state": str(execution.state)}))
    else:
        _out(execution.id)
        err(f"execution {execution.id} is queued for a worker; follow it with: flowrun logs {execution.id} --follow")
    return ExitCode.OK


def finish_run(execution: Execution, masker: Masker, json_output: bool) -> int:
    """Print the execution document (with --json), say how to continue a paused run; the exit code."""
    if json_output:
        document = execution.to_json()
        document["inputs"] = _mask_inputs(document["inputs"], execution.secret_inputs)
        document = masker.mask_document(document)
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
        sys.stdout.flush()
    if execution.state == "PAUSED":
        err(f"execution {execution.id} is PAUSED; continue it with: flowrun resume {execution.id} [--input k=v]")
    return exit_code_of(execution.state)


def _mask_inputs(inputs: dict[str, Any], secret_ids: set[str]) -> dict[str, Any]:
    return {k: ("******" if k in secret_ids and v is not None else v) for k, v in inputs.items()}


def tick_command(path: str | None = None, now: str | None = None, json_output: bool = False,
                 home: str | None = None) -> int:
    """One tick (see `flowrun tick --help`), printed; FLOW_FAILED when a run failed or was interrupted."""
    from flowrun.app.tick import tick as run_tick

    resume_collection()
    report = run_tick(home, path, now)
    for problem in report.problems:
        sys.stderr.write(f"warning: {problem}\n")
    if json_output:
        _out(json.dumps({"now": report.now, "enqueued": report.enqueued, "runs": report.runs,
                         "resumed": report.resumed, "interrupted": report.interrupted}, indent=2))
    else:
        for run in report.runs:
            _out(f"{report.now} {run['flow']} {run['trigger']} {run['date']} {run['state']} "
                 f"{run['executionId'] or run['error']}")
        for run in report.resumed:
            _out(f"{report.now} {run['flow']} resumed {run['executionId']} {run['state']}")
    return ExitCode.FLOW_FAILED if report.failed or report.interrupted else ExitCode.OK


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def exit_code_of(state: str) -> int:
    if state in ("SUCCESS", "WARNING"):
        return ExitCode.OK
    if state == "PAUSED":
        return ExitCode.PAUSED
    return ExitCode.FLOW_FAILED
