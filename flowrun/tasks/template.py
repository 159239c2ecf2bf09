"""Template (deprecated: include a project template's tasks) and TemplatedTask (run a task rendered from YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.errors import FlowrunError, TaskError
from flowrun.model.base import Strict
from flowrun.model.execution import State
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.flowable import Flowable

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope

TEMPLATED_TASK = "io.kestra.plugin.core.templating.TemplatedTask"


class TemplateDoc(Strict):
    """A template file under `templates/` (Kestra's deprecated Template resource)."""

    id: str
    namespace: str
    description: str | None = None
    tasks: list[Any]
    errors: list[Any] | None = None


class Template(Flowable):
    """Deprecated in Kestra: run the `tasks` (and on failure the `errors`) of the template `namespace`/`templateId`,
    a YAML file under the project's `templates/` directory (`id`, `namespace`, `tasks`, `errors`). `args` are
    rendered and given to the template's tasks as `parent.outputs.args` (and this task's output `args`)."""

    takes_finally: ClassVar[bool] = False
    namespace: str
    template_id: str
    args: dict[str, Any] | None = None
    tenant_id: str | None = None

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        tasks, errors = self._template(ex)
        known = {task.id for task in ex.flow.all_tasks()}
        clash = sorted({task.id for task in tasks + errors} & known)
        if clash:
            raise TaskError(f"template {self.namespace}.{self.template_id}: task id `{clash[0]}` is also a task "
                            "of the flow; task ids must be unique once the template is included")
        variables = ex.task_variables(self, taskrun, scope)
        args = {str(k): ex.render(v, variables) for k, v in (self.args or {}).items()}
        ex.set_outputs(taskrun, {"args": args})
        return ex.run_group(tasks, scope.child(taskrun), errors or None)

    def _template(self, ex: Runner) -> tuple[list[Task], list[Task]]:
        from pydantic import ValidationError

        from flowrun.load import read_yaml
        from flowrun.validate import build_task_group, pydantic_problems

        project = ex.services.project
        path = find_template(project.templates_dir, self.namespace, self.template_id)
        if path is None:
            raise TaskError(f"Can't find flow template '{self.namespace}.{self.template_id}': no template with "
                            f"that namespace and id under {project.templates_dir}; put its YAML file there")
        try:
            doc = read_yaml(path)
            raw = doc.data if isinstance(doc.data, dict) else {}
            try:
                TemplateDoc.model_validate(raw)
            except ValidationError as exc:
                from flowrun.errors import InvalidFlowError

                raise InvalidFlowError(pydantic_problems(doc, exc, (), None, TemplateDoc)) from None
            defaults = project.config.plugin_defaults
            return (build_task_group(doc, raw["tasks"], "tasks", defaults),
                    build_task_group(doc, raw.get("errors") or [], "errors", defaults))
        except FlowrunError as exc:
            raise TaskError(f"template {path} is invalid: {exc.message}") from None


def find_template(directory: Path, namespace: str, template_id: str) -> Path | None:
    """The template file under `directory` whose `namespace` and `id` match."""
    from flowrun.project import _peek_ids

    if not directory.is_dir():
        return None
    for path in sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        if _peek_ids(path) == (namespace, template_id):
            return path
    return None


class TemplatedTask(Task):
    """Render `spec` (a task definition in YAML, Pebble allowed anywhere in it) and run that task in this task
    run. The rendered task must be a runnable task (not a flowable, nor another TemplatedTask); its `id` defaults
    to this task's id, and its outputs become this task's."""

    flowable: ClassVar[bool] = False
    spec: str

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        from flowrun.load import parse_yaml
        from flowrun.tasks.registry import canonical
        from flowrun.validate import build_task_group

        text = str(ctx.render(self.spec))
        try:
            doc = parse_yaml(text, f"the spec of task `{self.id}`")
            raw = doc.data
            if not isinstance(raw, dict):
                raise TaskError(f"the rendered spec must be a YAML mapping with a `type`, got: {text[:200]}")
            raw.setdefault("id", self.id)
            kind = str(raw.get("type", ""))
            if canonical(kind) == TEMPLATED_TASK:
                raise TaskError(f"The templated task cannot be of type '{TEMPLATED_TASK}'")
            if _is_flowable(kind):
                raise TaskError(f"The templated task must be a runnable task; {kind} is a flowable task")
            task = build_task_group(doc, [raw], "spec", ctx.services().project.config.plugin_defaults)[0]
        except FlowrunError as exc:
            raise TaskError(f"the rendered spec is not a valid task: {exc.message}",
                            evidence={"spec": text}) from None
        return task.run(ctx)


def _is_flowable(kind: str) -> bool:
    from flowrun.tasks.registry import UnknownType, task_class

    try:
        return bool(task_class(kind).flowable)
    except UnknownType:
        return False  # the validator names the unknown type
