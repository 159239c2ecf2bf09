"""`execution_report`: the execution, its logs and its revision's flow; a live redraw skips the logs."""

from __future__ import annotations

from conftest import Project

from flowrun.app.report import execution_report


def test_a_report_without_logs_still_has_the_execution_and_its_flow(project: Project) -> None:
    execution = project.run(project.flow_file("cli/states.yaml", "states.yaml"))
    full = execution_report(str(project.home), execution.id)
    assert [line["message"] for line in full.logs if line["message"] == "hi"] == ["hi"]
    assert full.flow is not None and full.flow.id == "states"
    light = execution_report(str(project.home), execution.id[:8], with_logs=False)
    assert light.logs == [] and light.execution == full.execution and light.flow.id == "states"
