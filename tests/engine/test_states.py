"""Execution states are a StrEnum of Kestra's names whose values are the texts the DB and JSON always held."""

from __future__ import annotations

import json
import sqlite3

from conftest import Project

from flowrun.model.execution import FAILED_LIKE, STATES, TERMINAL, Execution, State, TaskRun, final_state

RETURN = "io.kestra.plugin.core.debug.Return"


def test_state_values_are_kestras_names_and_compare_equal_to_text() -> None:
    assert STATES == ("CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING", "SUCCESS", "WARNING", "FAILED",
                      "KILLING", "KILLED", "CANCELLED", "SKIPPED", "RESTARTED", "RETRIED")
    assert all(type(name) is str for name in STATES)
    assert State.SUCCESS == "SUCCESS" and "FAILED" in FAILED_LIKE and "SKIPPED" in TERMINAL
    assert json.dumps({"state": State.KILLED}) == '{"state": "KILLED"}'
    assert final_state(["SUCCESS", "CANCELLED"]) is State.KILLED


def test_records_read_back_as_text_hold_state_members() -> None:
    execution = Execution(id="e", namespace="n", flow_id="f", state="RUNNING")  # type: ignore[arg-type]
    taskrun = TaskRun(id="t", execution_id="e", task_id="a", task_type="x", seq=0, state="PAUSED")  # type: ignore[arg-type]
    assert execution.state is State.RUNNING and taskrun.state is State.PAUSED
    execution.set_state("SUCCESS")
    assert execution.state is State.SUCCESS and execution.histories[-1]["state"] == "SUCCESS"


def test_templates_and_the_state_db_see_plain_text(project: Project) -> None:
    path = project.flow(f"""\
id: f
namespace: t
tasks:
  - id: a
    type: {RETURN}
    format: x
  - id: b
    type: {RETURN}
    format: "{{{{ tasks.a.state | yaml }}}}|{{{{ execution.state | yaml }}}}"
""")
    execution = project.run(path)
    assert execution.state is State.SUCCESS
    assert [tr.outputs for tr in execution.task_runs if tr.task_id == "b"] == [{"value": "SUCCESS\n|RUNNING\n"}]
    db = sqlite3.connect(project.home / "state.db")
    rows = db.execute("SELECT state, typeof(state) FROM task_runs ORDER BY seq").fetchall()
    assert rows == [("SUCCESS", "text"), ("SUCCESS", "text")]
