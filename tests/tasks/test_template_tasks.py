"""flow.Template (a project template's tasks, with `args`) and templating.TemplatedTask (a task rendered from YAML)."""

from __future__ import annotations

from pathlib import Path

from conftest import Project
from helpers import flow_text, ids, one


def _template(project: Project, text: str | None = None) -> Path:
    path = project.root / "templates" / "greeting.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else flow_text("templates/greeting.yaml"), encoding="utf-8")
    return path


def test_a_template_runs_its_tasks_below_the_template_task(project: Project) -> None:
    """TemplateTest: the template's tasks run in the flow; `parent.outputs.args` holds the rendered args."""
    _template(project)
    ex = project.run(project.flow_file("templates/with-template.yaml"), {"who": "Kestra"})
    assert ex.state == "SUCCESS" and ids(ex) == ["first", "include", "hello", "last"]
    assert one(ex, "hello").parent_id == one(ex, "include").id
    assert one(ex, "include").outputs == {"args": {"name": "Kestra"}}
    assert one(ex, "last").outputs["value"] == "hello Kestra / Kestra"


def test_a_missing_template_fails_with_where_to_put_it(project: Project) -> None:
    ex = project.run(project.flow_file("templates/with-template.yaml"))
    assert ex.state == "FAILED"
    error = one(ex, "include").error
    assert "Can't find flow template 'tests.templates.greeting'" in error and "templates" in error


def test_an_invalid_template_is_reported_with_its_location(project: Project) -> None:
    path = _template(project, flow_text("templates/greeting.yaml").replace("format:", "formatt:"))
    ex = project.run(project.flow_file("templates/with-template.yaml"))
    assert ex.state == "FAILED"
    assert f"template {path} is invalid" in one(ex, "include").error
    assert "formatt" in one(ex, "include").error


def test_template_task_ids_may_not_repeat_the_flows(project: Project) -> None:
    _template(project, flow_text("templates/greeting.yaml").replace("id: hello", "id: first"))
    ex = project.run(project.flow_file("templates/with-template.yaml"))
    assert ex.state == "FAILED" and "task id `first` is also a task of the flow" in one(ex, "include").error


def test_a_templated_task_runs_the_task_its_spec_renders(project: Project) -> None:
    ex = project.run(project.flow_file("templates/templated-task.yaml"))
    assert ex.state == "SUCCESS" and ids(ex) == ["dynamic", "after"]
    assert one(ex, "dynamic").outputs["value"] == "rendered for templated_task"
    assert one(ex, "after").outputs["value"] == "rendered for templated_task"


def test_a_templated_task_spec_must_render_a_valid_runnable_task(project: Project) -> None:
    path = project.flow_file("templates/templated-task.yaml")
    cases = {("templating.TemplatedTask", "spec"): "The templated task cannot be of type",
             ("flow.Sequential", "tasks"): "must be a runnable task",
             ("debug.Return", "formatt"): "the rendered spec is not a valid task"}
    for (kind, prop), message in cases.items():
        ex = project.run(path, {"kind": kind, "property": prop})
        assert ex.state == "FAILED" and message in one(ex, "dynamic").error, (kind, one(ex, "dynamic").error)
