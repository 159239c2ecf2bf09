"""What a worker writes for an attempt it runs: logs and the task runs its task reports below it (dbt's nodes),
never the attempt's own task run row, which its orchestrator owns."""

from __future__ import annotations

from pathlib import Path

from flowrun.app.remote import _LogsOnly
from flowrun.engine.context import make_log_line
from flowrun.model.execution import Execution, TaskRun, new_id
from flowrun.state.db import Database
from flowrun.state.recorder import Recorder


def test_a_worker_records_logs_and_reported_children_but_not_its_task_run(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state="RUNNING")
    db.save_execution(execution, {}, {})
    own = TaskRun(id=new_id(), execution_id=execution.id, task_id="dbt", task_type="dbt", seq=0, state="RUNNING")
    db.insert_task_run(own, {})
    listener = _LogsOnly(Recorder(db, lambda value, secret_ids: value), own.id)

    own.state = "SUCCESS"  # the worker's copy moves on; the orchestrator records it from the attempt's result
    listener.taskrun_updated(execution, own)
    child = TaskRun(id=new_id(), execution_id=execution.id, task_id="model.a", task_type="dbt", seq=1,
                    parent_id=own.id, state="SUCCESS")
    listener.taskrun_updated(execution, child)
    listener.log(make_log_line(execution.id, own, 1, "INFO", "built model.a"))

    rows = {row["task_id"]: row["state"] for row in db.task_run_rows(execution.id)}
    assert rows == {"dbt": "RUNNING", "model.a": "SUCCESS"}
    assert [row["message"] for row in db.log_rows(execution.id)] == ["built model.a"]
