"""The exit-code contract: every error class maps to its code, and the CLI paths of issues 10 and 11 keep it."""

from __future__ import annotations

import importlib
import pkgutil

from conftest import Project
from helpers import assert_clean

import flowrun
from flowrun.errors import ExitCode

LOG = "io.kestra.plugin.core.log.Log"


# -- every error class to its code ----------------------------------------------------------------------
#: Every FlowrunError subclass defined in flowrun, with the exit code the CLI gives it.
FLOWRUN_ERRORS = {
    "flowrun.errors.FlowrunError": ExitCode.STATE,
    "flowrun.errors.UsageError": ExitCode.USAGE,
    "flowrun.errors.InvalidFlowError": ExitCode.INVALID,
    "flowrun.errors.InputError": ExitCode.INVALID,
    "flowrun.errors.InvalidValueError": ExitCode.INVALID,
    "flowrun.errors.StateError": ExitCode.STATE,
    "flowrun.crypto.CryptoError": ExitCode.STATE,
    "flowrun.storage.backend.StorageError": ExitCode.STATE,
    "flowrun.storage.backend.MissingFile": ExitCode.STATE,
    "flowrun.state.integrity.DamagedStateError": ExitCode.STATE,
    "flowrun.scaleout.broker.BrokerError": ExitCode.STATE,
    "flowrun.durations.DurationError": ExitCode.INVALID,
    "flowrun.secrets.SecretError": ExitCode.INVALID,
    "flowrun.storage.kv.KVError": ExitCode.INVALID,
    "flowrun.storage.kv.KVNameError": ExitCode.USAGE,
    "flowrun.storage.kv.KVValueError": ExitCode.INVALID,
    "flowrun.storage.kv.KVMissingError": ExitCode.FLOW_FAILED,
    "flowrun.storage.kv.KVConflictError": ExitCode.FLOW_FAILED,
    # raised while the flow or its inputs are read: converted before the CLI where they are expected
    "flowrun.templating.errors.TemplateError": ExitCode.INVALID,
    "flowrun.templating.errors.MissingError": ExitCode.INVALID,
    "flowrun.templating.errors.EvalError": ExitCode.INVALID,
    "flowrun.templating.limits.LimitError": ExitCode.INVALID,
    "flowrun.inputs.BadValue": ExitCode.INVALID,
    "flowrun.tasks.registry.UnknownType": ExitCode.INVALID,
    "flowrun.schedule.cron.CronError": ExitCode.INVALID,
    "flowrun.schedule.conditions.ConditionError": ExitCode.INVALID,
    "flowrun.state.cutoff.CutoffError": ExitCode.USAGE,
    "flowrun.gitops.remote.GitError": ExitCode.FLOW_FAILED,
}
#: Every other exception class defined in flowrun: each is caught where it is raised and turned into a
#: FlowrunError or a failed task, so it never reaches the CLI (if one did, it would be an internal error, 4).
CONVERTED_BEFORE_THE_CLI = {
    "flowrun.errors.TaskError": "the executor records it as a FAILED attempt",
    "flowrun.errors.TaskKilled": "the executor records it as a KILLED attempt",
    "flowrun.templating.jq_runner._Died": "internal to the jq runner, which raises an EvalError",
    "flowrun.templating.jq_runner._TimedOut": "internal to the jq runner, which raises an EvalError",
    "flowrun.engine.template_errors._Failed": "internal to render_located, which raises a located TaskError",
    "flowrun.scripts.venvs.VenvError": "a TaskError of the script task",
    "flowrun.gcp.auth.CredentialsError": "a TaskError of the GCP task",
    "flowrun.gcp.uris.GcsUriError": "a TaskError of the GCS task",
    "flowrun.gcp.bqmodels.BqPropertyError": "a TaskError of the BigQuery task",
    "flowrun.jdbc.url.JdbcUrlError": "a TaskError of the JDBC task",
}


def _flowrun_exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a flowrun module (all modules imported)."""
    for module in pkgutil.walk_packages(flowrun.__path__, "flowrun."):
        if module.name != "flowrun.__main__":
            importlib.import_module(module.name)
    found: dict[str, type[BaseException]] = {}
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("flowrun."):
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def _instance(cls: type[BaseException]) -> BaseException:
    from flowrun.errors import FlowrunError, InvalidFlowError, Problem

    if issubclass(cls, InvalidFlowError):
        return cls([Problem("bad")])
    if issubclass(cls, FlowrunError):
        try:
            return cls("bad", hint="a hint")
        except TypeError:  # its own constructor (UnknownType, MissingError...): only its class matters
            return cls.__new__(cls)
    return cls.__new__(cls)  # only its class matters to the CLI


def test_every_error_class_has_its_exit_code() -> None:
    from flowrun.cli import exit_code_for

    classes = _flowrun_exception_classes()
    assert set(classes) == set(FLOWRUN_ERRORS) | set(CONVERTED_BEFORE_THE_CLI), (
        "classify every new exception class in FLOWRUN_ERRORS or CONVERTED_BEFORE_THE_CLI")
    for name, code in FLOWRUN_ERRORS.items():
        assert exit_code_for(_instance(classes[name])) == code, name
    for name in CONVERTED_BEFORE_THE_CLI:
        assert exit_code_for(_instance(classes[name])) == ExitCode.STATE, name


def test_exit_codes_outside_the_error_tree() -> None:
    import typer

    from flowrun.cli import exit_code_for

    assert exit_code_for(typer.Exit(5)) == ExitCode.PAUSED
    assert exit_code_for(KeyboardInterrupt()) == ExitCode.FLOW_FAILED
    assert exit_code_for(RuntimeError("a bug")) == ExitCode.STATE


# -- unknown inputs (issue 10, item 4) --------------------------------------------------------------------
INPUT_FLOW = f"""\
    id: inputs
    namespace: t
    inputs:
      - id: rows
        type: INT
        defaults: 1
      - id: taxi
        type: STRING
        defaults: green
    triggers:
      - id: daily
        type: io.kestra.plugin.core.trigger.Schedule
        cron: "0 9 * * *"
        inputs:
          taxi: yellow
    tasks:
      - id: say
        type: {LOG}
        message: "{{{{ inputs.rows }}}} {{{{ inputs.taxi }}}}"
    """


def test_unknown_input_is_rejected_with_the_closest_one(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("run", "flows/flow.yaml", "--input", "rowz=3")
    assert_clean(result, 3)
    assert "input `rowz`" in result.stderr and "did you mean `rows`?" in result.stderr
    assert "declared inputs: rows, taxi" in result.stderr
    (project.root / "in.yaml").write_text("rows: 2\ntaxy: green\n")
    result = project.cli("run", "flows/flow.yaml", "--inputs", "in.yaml")
    assert_clean(result, 3)
    assert "input `taxy`" in result.stderr and "did you mean `taxi`?" in result.stderr
    result = project.cli("run", "flows/flow.yaml", "--input", "zzz=1", "--input", "rows=x")
    assert_clean(result, 3)
    assert "input `zzz`" in result.stderr and "input `rows`" in result.stderr  # every problem at once
    assert project.cli("executions", "list", "--json").json() == []  # nothing ran


def test_unknown_input_of_a_flow_without_inputs(project: Project) -> None:
    project.flow(f"id: bare\nnamespace: t\ntasks:\n  - id: a\n    type: {LOG}\n    message: hi\n")
    result = project.cli("run", "flows/flow.yaml", "--input", "x=1")
    assert_clean(result, 3)
    assert "input `x`" in result.stderr and "the flow declares no inputs" in result.stderr


def test_declared_and_trigger_inputs_still_run(project: Project) -> None:
    project.flow(INPUT_FLOW)
    assert_clean(project.cli("run", "flows/flow.yaml", "--input", "rows=3"), 0)
    by_trigger = project.cli("run", "flows/flow.yaml", "--trigger", "daily", "--date", "2024-01-01T09:00:00Z",
                             "--json")
    assert_clean(by_trigger, 0)
    assert by_trigger.json()["inputs"] == {"rows": 1, "taxi": "yellow"}
    backfill = project.cli("backfill", "flows/flow.yaml", "--from", "2024-01-01", "--to", "2024-01-02")
    assert_clean(backfill, 0)


def test_backfill_rejects_unknown_inputs_before_running_anything(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("backfill", "flows/flow.yaml", "--from", "2024-01-01", "--to", "2024-01-02",
                         "--input", "rowz=2")
    assert_clean(result, 3)
    assert "input `rowz`" in result.stderr and "did you mean `rows`?" in result.stderr
    assert project.cli("executions", "list", "--json").json() == []


def test_render_with_a_flow_rejects_unknown_inputs(project: Project) -> None:
    project.flow(INPUT_FLOW)
    result = project.cli("render", "{{ inputs.rows }}", "--flow", "flows/flow.yaml", "--input", "rowz=2")
    assert_clean(result, 3)
    assert "did you mean `rows`?" in result.stderr


# -- render: template errors exit 3, bad --context exits 2 -------------------------------------------------
def test_render_template_errors_exit_3(project: Project) -> None:
    undefined = project.cli("render", "{{ nope.x }}")
    assert_clean(undefined, 3)
    assert "template error" in undefined.stderr and "`nope`" in undefined.stderr
    assert "printContext()" in undefined.stderr
    syntax = project.cli("render", "{{ 1 + }}")
    assert_clean(syntax, 3)
    assert "template error" in syntax.stderr and "printContext()" not in syntax.stderr


def test_render_bad_context_exits_2(project: Project) -> None:
    missing = project.cli("render", "{{ a }}", "--context", "@/nonexistent.json")
    assert_clean(missing, 2)
    assert "--context @/nonexistent.json: cannot read the file" in missing.stderr
    listed = project.cli("render", "{{ a }}", "--context", "[1,2]")
    assert_clean(listed, 2)
    assert "--context must be a JSON object" in listed.stderr and "list" in listed.stderr
    (project.root / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    latin = project.cli("render", "{{ name }}", "--context", "@latin1.json")
    assert_clean(latin, 2)
    assert "--context @latin1.json" in latin.stderr and "UTF-8" in latin.stderr
    (project.root / "ok.json").write_text('{"name": "café"}', encoding="utf-8")
    assert project.cli("render", "{{ name }}", "--context", "@ok.json").stdout == "café\n"
