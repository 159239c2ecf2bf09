"""`run_unit_tests`: flow unit tests (Kestra's format): each case one isolated execution, then its assertions."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.app.assertions import AssertionResult, check
from flowrun.errors import FlowrunError, InvalidFlowError, Problem, UsageError
from flowrun.model.unit_test import AssertionSpec, TestCase, UnitTestDoc
from flowrun.project import Project, open_project


@dataclass
class CaseResult:
    """How one test case went: passed, failed (an assertion did not hold), error (it could not run), skipped."""

    file: str
    test_id: str
    case_id: str
    outcome: str
    description: str | None = None
    execution_id: str | None = None
    execution_state: str | None = None
    seconds: float = 0.0
    error: str | None = None
    assertions: list[AssertionResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "testId": self.test_id, "caseId": self.case_id, "outcome": self.outcome,
                "description": self.description, "executionId": self.execution_id,
                "executionState": self.execution_state, "seconds": round(self.seconds, 3), "error": self.error,
                "assertions": [result.to_json() for result in self.assertions]}


def find_test_files(paths: list[str], home: str | None = None) -> list[Path]:
    """The test files among `paths` (files, or directories searched recursively but not into a nested project),
    by default the project's tests/: YAML files with a top-level `testCases:`."""
    if not paths:
        tests = open_project(home).root / "tests"
        paths = [str(tests)] if tests.is_dir() else []
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"no such test file or directory: {raw}")
        if path.is_file():
            found.append(path)
            continue
        found += [file for file in sorted(path.rglob("*")) if file.suffix in (".yaml", ".yml")
                  and not _in_nested_project(file, path) and _is_test_file(file)]
    return found


def _in_nested_project(file: Path, top: Path) -> bool:
    """Whether a directory between `top` and `file` is a project of its own (flowrun.yaml or flows/): its tests
    are its own, run from there."""
    for parent in file.parents:
        if parent == top:
            return False
        if (parent / "flowrun.yaml").is_file() or (parent / "flows").is_dir():
            return True
    return False


def _is_test_file(path: Path) -> bool:
    try:
        return any(line.startswith("testCases:") for line in path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return False


def load_test_file(path: Path) -> UnitTestDoc:
    """A test file's document; InvalidFlowError with every located problem."""
    from pydantic import ValidationError

    from flowrun.load import read_yaml
    from flowrun.model.problems import pydantic_problems

    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InvalidFlowError([Problem("a test file is a mapping with id, namespace, flowId and testCases",
                                        file=str(path))])
    try:
        return UnitTestDoc.model_validate(doc.data)
    except ValidationError as exc:
        raise InvalidFlowError(pydantic_problems(doc, exc, (), None, UnitTestDoc)) from None


def run_unit_tests(paths: list[str], home: str | None = None,
                   on_case: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
    """Run every case of every test file found (see `find_test_files`); `on_case` hears each result."""
    files = find_test_files(paths, home)
    if not files:
        raise UsageError("no test files found", hint="a test file is a YAML file with `testCases:`; `flowrun test` "
                         "looks under the project's tests/")
    results: list[CaseResult] = []
    for path in files:
        for result in _run_file(path, home):
            results.append(result)
            if on_case is not None:
                on_case(result)
    return results


def _run_file(path: Path, home: str | None) -> list[CaseResult]:
    shown = _shown(path)
    try:
        doc = load_test_file(path)
        project, flow_path = _tested_flow(path, doc, home)
    except FlowrunError as exc:
        return [CaseResult(shown, path.stem, "-", "error", error=exc.message)]
    return [_run_case(shown, doc, case, flow_path, project) for case in doc.test_cases]


def _shown(path: Path) -> str:
    """The path relative to the current directory when it is below it."""
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    return str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(path)


def _tested_flow(path: Path, doc: UnitTestDoc, home: str | None) -> tuple[Project, Path]:
    """The flow a test file names, under the flows/ of the current project, else of the file's own."""
    projects = [open_project(home), open_project(home, path.resolve().parent)]
    for project in projects:
        found = project.find_flow(doc.namespace, doc.flow_id)
        if found is not None:
            return project, found
    where = " or ".join(sorted({str(project.flows_dir) for project in projects}))
    raise UsageError(f"{path}: no flow `{doc.namespace}/{doc.flow_id}` under {where}",
                     hint="a test file names its flow by `namespace` and `flowId`")


def _run_case(shown: str, doc: UnitTestDoc, case: TestCase, flow_path: Path, project: Project) -> CaseResult:
    result = CaseResult(shown, doc.id, case.id, "skipped", case.description)
    if case.disabled:
        return result
    start = time.monotonic()
    state_dir = tempfile.mkdtemp(prefix="flowrun-test-")
    try:
        _execute_case(case, flow_path, project, state_dir, result)
    except FlowrunError as exc:
        result.outcome, result.error = "error", exc.message
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
        result.seconds = time.monotonic() - start
    return result


def _execute_case(case: TestCase, flow_path: Path, project: Project, state_dir: str, result: CaseResult) -> None:
    """Run the case's execution in `state_dir` (its own state: DB, storage, KV, secret key), then check."""
    import os

    from flowrun.app.run import RunOptions, start_execution
    from flowrun.engine.mocks import TaskMock

    fixtures = case.fixtures
    options = RunOptions(inputs=dict(fixtures.inputs), home=state_dir, strict_inputs=set(fixtures.inputs),
                         trigger=dict(fixtures.trigger.variables) if fixtures.trigger else None)
    cwd = os.getcwd()
    os.chdir(project.root)  # relative paths in the flow read as they do for `flowrun run` in the project
    try:
        run = start_execution(str(flow_path.resolve()), options)
        files = _store_files(run, fixtures.files)
        run.options.mocks = [TaskMock(t.id, t.state, t.outputs, t.value, t.description, {"files": files})
                             for t in fixtures.tasks]
        execution = run.run()
    finally:
        os.chdir(cwd)
    result.execution_id, result.execution_state = execution.id, execution.state.value
    result.assertions = [item for spec in case.assertions
                         for item in _assert(spec, execution, files, state_dir)]
    result.outcome = "passed" if all(item.ok for item in result.assertions) else "failed"


def _store_files(run: Any, files: dict[str, str]) -> dict[str, str]:
    """The inline `files` fixtures stored under the execution; their kestra:// URIs by name."""
    from flowrun.storage.internal import execution_prefix

    prefix = execution_prefix(run.flow.namespace, run.flow.id, run.execution.id) + "/test-files"
    uris = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            local = Path(tmp) / Path(name).name
            local.write_text(content, encoding="utf-8")
            uris[name] = run.services.storage.put_file(local, prefix, Path(name).name)
    return uris


def _assert(spec: AssertionSpec, execution: Any, files: dict[str, str], state_dir: str) -> list[AssertionResult]:
    """Each operator of `spec` against its value rendered over the ended execution."""
    from flowrun.app.render import render_expression

    context: dict[str, Any] = {"files": files,
                               "execution": {"id": execution.id, "state": execution.state.value,
                                             "outputs": execution.outputs}}
    runs = [tr for tr in execution.task_runs if tr.task_id == spec.task_id]
    if spec.task_id and runs:
        last = runs[-1]
        context["taskrun"] = {"id": last.id, "value": last.value, "state": last.state.value, "outputs": last.outputs}
    common = {"task_id": spec.task_id, "description": spec.description, "error_message": spec.error_message}
    if spec.task_id and not runs:
        return [AssertionResult(op, expected, None, False, problem=f"task `{spec.task_id}` did not run", **common)
                for op, expected in spec.operators()]
    try:
        actual = render_expression(spec.value, context, execution_id=execution.id, home=state_dir) \
            if isinstance(spec.value, str) else spec.value
    except FlowrunError as exc:
        return [AssertionResult(op, expected, None, False, problem=exc.message, **common)
                for op, expected in spec.operators()]
    results = []
    for operator, expected in spec.operators():
        ok, problem = check(operator, actual, expected)
        results.append(AssertionResult(operator, expected, actual, ok, problem=problem, **common))
    return results
