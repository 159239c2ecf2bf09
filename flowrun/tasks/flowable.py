"""Flowable tasks: If, Switch, Sequential, Parallel, ForEach, Each*, Dag, AllowFailure, WorkingDirectory, Subflow."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.errors import TaskError
from flowrun.model.base import Strict
from flowrun.model.execution import State, final_state
from flowrun.model.lite import Field, field_validator, model_validator
from flowrun.tasks.base import Task

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope


class Flowable(Task):
    """A task that holds child tasks; the executor drives it through `execute`."""

    flowable: ClassVar[bool] = True
    #: whether the type has Kestra's `finally` (Subflow and the deprecated Template do not)
    takes_finally: ClassVar[bool] = True
    errors: list[Task] | None = None
    finally_: list[Task] | None = Field(default=None, alias="finally")

    @model_validator(mode="after")
    def _finally_allowed(self) -> Flowable:
        if self.finally_ is not None and not self.takes_finally:
            raise ValueError(f"unknown property 'finally': {self.type} has no `finally` (use the flow's `finally`)")
        return self

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:  # pragma: no cover - abstract
        raise TypeError(f"{self.type} does not implement execute")

    def group(self, ex: Runner, tasks: list[Task] | None, scope: Scope, concurrent: int = 1) -> State:
        """Run `tasks` (sequentially, or `concurrent` at a time; 0 = unlimited), `errors` on failure, `finally`."""
        return self.closing(ex, ex.run_group(tasks or [], scope, self.errors, concurrent), scope)

    def closing(self, ex: Runner, state: State, scope: Scope) -> State:
        """`finally` runs after the children and `errors`, whatever their state (Kestra's FinallyTest: it adds its
        task runs to the count); a failure in it fails the flowable."""
        if not self.finally_ or ex.killed.is_set():
            return state
        return final_state([state, ex.run_group(self.finally_, scope, None)])


class Sequential(Flowable):
    """Run `tasks` one after the other."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task]

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        return self.group(ex, self.tasks, scope.child(taskrun))


class AllowFailure(Sequential):
    """Deprecated: run `tasks`; a failure among them makes this task WARNING."""

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        state = super().execute(ex, taskrun, scope)
        return State.WARNING if state == State.FAILED else state


class Parallel(Flowable):
    """Run `tasks` concurrently, `concurrent` at a time (0 = all at once)."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)
    concurrent: int = 0

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        return self.group(ex, self.tasks, scope.child(taskrun), concurrent=self.concurrent)


class If(Flowable):
    """Render `condition`; run `then` when truthy, else `else`."""

    child_fields: ClassVar[tuple[str, ...]] = ("then", "else_", "errors", "finally_")
    condition: Any
    then: list[Task] = Field(min_length=1)
    else_: list[Task] | None = Field(default=None, alias="else")

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.templating.truth import is_true

        result = is_true(ex.render(self.condition, ex.task_variables(self, taskrun, scope)))
        ex.set_outputs(taskrun, {"evaluationResult": result})
        branch = self.then if result else self.else_
        return self.group(ex, branch, scope.child(taskrun))


class Switch(Flowable):
    """Run the `cases` list whose key equals the rendered `value`, else `defaults`."""

    child_fields: ClassVar[tuple[str, ...]] = ("cases", "defaults", "errors", "finally_")
    value: Any
    cases: dict[str, list[Task]] | None = None
    defaults: list[Task] | None = None

    @field_validator("cases", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        """YAML reads `1:` and `true:` as a number and a boolean; Kestra's case keys are strings."""
        if isinstance(value, dict):
            return {(str(k).lower() if isinstance(k, bool) else str(k)): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _has_tasks(self) -> Switch:
        """Kestra's SwitchTaskValidator: a Switch needs tasks in `cases` or in `defaults`."""
        if not self.cases and not self.defaults:
            raise ValueError("No task defined, neither cases or default have any tasks")
        empty = [key for key, tasks in (self.cases or {}).items() if not tasks]
        if empty:
            raise ValueError(f"case `{empty[0]}` has no task: give it tasks or remove it")
        return self

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        rendered = ex.render(self.value, ex.task_variables(self, taskrun, scope))
        key = rendered if isinstance(rendered, str) else json.dumps(rendered)
        cases = self.cases or {}
        matched = {str(k): v for k, v in cases.items()}.get(key)
        ex.set_outputs(taskrun, {"value": key, "defaults": matched is None})
        branch = matched if matched is not None else self.defaults
        if branch is None:
            raise TaskError(f"no case matches the value `{key}` and there are no `defaults`")
        return self.group(ex, branch, scope.child(taskrun))


def resolve_values(ex: Runner, raw: Any, variables: dict[str, Any]) -> list[str]:
    """ForEach values: a JSON-array string (rendered) or a list; each becomes a string, duplicates dropped."""
    if isinstance(raw, str):
        rendered = ex.render(raw, variables, typed=True)
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered)
            except json.JSONDecodeError:
                raise TaskError(f"values must render to a JSON array, got `{rendered}`") from None
        items = rendered
    else:
        items = []
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, (str, int, dict, list)):
                raise TaskError(f"unknown value element type: `{item}` (values may hold strings, "
                                "integers and maps)")
            items.append(ex.render(item, variables) if isinstance(item, (str, dict, list)) else item)
    if not isinstance(items, list):
        raise TaskError("values must be a list or a JSON array")
    result: list[str] = []
    for item in items:
        if item is None:
            raise TaskError("values may not contain null")
        text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
        if text not in result:
            result.append(text)
    return result


def run_loop(loop: Any, ex: Runner, taskrun: TaskRun, scope: Scope, raw: Any, concurrency: int) -> State:
    """Run `loop.tasks` once per value of `raw` (`concurrency` groups at a time), its `errors`, then `finally`."""
    values = resolve_values(ex, raw, ex.task_variables(loop, taskrun, scope))
    inner = scope.child(taskrun)
    return loop.closing(ex, ex.run_each(loop.tasks, values, inner, loop.errors, concurrency), inner)  # type: ignore[no-any-return]


class ForEach(Flowable):
    """Run `tasks` once per value, `concurrencyLimit` groups at a time (1 = sequential, 0 = unlimited)."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    values: Any
    tasks: list[Task] = Field(min_length=1)
    concurrency_limit: int = 1

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        return run_loop(self, ex, taskrun, scope, self.values, self.concurrency_limit)


class EachSequential(Flowable):
    """Deprecated: ForEach with one group at a time."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    value: Any
    tasks: list[Task] = Field(min_length=1)

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        return run_loop(self, ex, taskrun, scope, self.value, 1)


class EachParallel(Flowable):
    """Deprecated: ForEach with every group at once (or `concurrent` at a time)."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    value: Any
    tasks: list[Task] = Field(min_length=1)
    concurrent: int = 0

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        return run_loop(self, ex, taskrun, scope, self.value, self.concurrent)


class DagTask(Strict):
    task: Task
    depends_on: list[str] = []


class Dag(Flowable):
    """Run tasks as a graph: each starts once every task it `dependsOn` has ended."""

    child_fields: ClassVar[tuple[str, ...]] = ("errors", "finally_")
    tasks: list[DagTask] = Field(min_length=1)
    concurrent: int = 0

    @classmethod
    def prepare_children(cls, raw: dict[str, Any], build: Any) -> dict[str, Any]:
        out = super().prepare_children(raw, build)
        nodes = raw.get("tasks")
        if isinstance(nodes, list):
            out["tasks"] = [dict(node, task=build(node.get("task"), ("tasks", i, "task")))
                            if isinstance(node, dict) else node for i, node in enumerate(nodes)]
        return out

    @model_validator(mode="after")
    def _check_graph(self) -> Dag:
        ids = [node.task.id for node in self.tasks]
        for node in self.tasks:
            for dep in node.depends_on:
                if dep not in ids:
                    raise ValueError(f"task `{node.task.id}` depends on unknown task `{dep}`")
        graph = {node.task.id: set(node.depends_on) for node in self.tasks}
        done: set[str] = set()
        while graph:
            ready = [k for k, deps in graph.items() if deps <= done]
            if not ready:
                raise ValueError(f"dependency cycle between tasks: {', '.join(sorted(graph))}")
            for key in ready:
                done.add(key)
                del graph[key]
        return self

    def children(self) -> list[Task]:
        return [node.task for node in self.tasks]

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        deps = {node.task.id: list(node.depends_on) for node in self.tasks}
        inner = scope.child(taskrun)
        return self.closing(ex, ex.run_dag(self.children(), deps, inner, self.errors, self.concurrent), inner)


class WorkingDirectory(Flowable):
    """Run `tasks` in one shared working directory, with inputFiles, outputFiles and namespaceFiles."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | None = None
    namespace_files: dict[str, Any] | None = None
    cache: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _runnable_children(self) -> WorkingDirectory:
        """Kestra's WorkingDirectoryTaskValidator: only runnable tasks share the directory (no flowable, no
        Subflow, no Pause)."""
        flowables = [task.id for task in self.tasks if task.flowable]
        if flowables:
            raise ValueError("Only runnable tasks are allowed as children of a WorkingDirectory task, not "
                             + ", ".join(f"`{task_id}`" for task_id in flowables))
        if any(task.worker_group for task in self.tasks):
            raise ValueError("Cannot set a Worker Group in any WorkingDirectory sub-tasks, it is only supported at "
                             "the WorkingDirectory level")
        return self

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.engine.workdir import shared_working_dir

        with shared_working_dir(ex, self, taskrun, scope) as inner:
            return self.group(ex, self.tasks, inner)


class SubflowCall(Flowable):
    """What a task that starts executions of another flow says of them (Subflow, ForEachItem): which flow, with
    which inputs and labels, and whether to wait for them and take their failure."""

    namespace: str
    flow_id: str
    revision: int | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    schedule_date: str | None = None


class Subflow(SubflowCall):
    """Run another flow of the project as a child execution, wait for it and expose its outputs."""

    takes_finally: ClassVar[bool] = False

    outputs: dict[str, Any] | None = None
    restart_behavior: str | None = None

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.engine.subflow import run_subflow

        return run_subflow(ex, self, taskrun, scope)
