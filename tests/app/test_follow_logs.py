"""`inspect.follow_logs` reads only the rows written since its last poll, a batch at a time, each line once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from conftest import Project

from flowrun.app import inspect
from flowrun.app.services import project_state
from flowrun.model.execution import Execution, new_id


def _stamp(number: int) -> str:
    return f"2024-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}.{number:06d}Z"


@pytest.mark.both_states
def test_follow_yields_each_new_line_once_across_batches_and_polls(project: Project) -> None:
    """More lines than one read takes are written before and while following; a task filter applies."""
    _, db = project_state(str(project.home))
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state="RUNNING",
                          start_date=datetime(2024, 1, 1, tzinfo=UTC))
    db.save_execution(execution, {}, {})  # this live process owns it: it is not reaped
    before = inspect.FOLLOW_BATCH * 2 + 7
    for number in range(before):
        db.add_log(execution.id, None, "a" if number % 3 else "b", None, "INFO", _stamp(number), f"line {number}")
    got: list[str] = []
    followed = threading.Thread(target=lambda: got.extend(
        str(row["message"]) for row in inspect.follow_logs(str(project.home), execution.id, "a", poll_seconds=0.05)))
    followed.start()
    for number in range(before, before + 40):
        db.add_log(execution.id, None, "a" if number % 3 else "b", None, "INFO", _stamp(number), f"line {number}")
    execution.state = "SUCCESS"
    db.save_execution(execution, {}, {})
    followed.join(timeout=60)
    assert not followed.is_alive()
    assert got == [f"line {number}" for number in range(before + 40) if number % 3]


def test_follow_of_a_task_that_logged_nothing_names_the_tasks(project: Project) -> None:
    _, db = project_state(str(project.home))
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state="SUCCESS",
                          start_date=datetime(2024, 1, 1, tzinfo=UTC))
    db.save_execution(execution, {}, {})
    db.add_log(execution.id, None, "a", None, "INFO", _stamp(0), "only a")
    from flowrun.errors import UsageError

    with pytest.raises(UsageError, match="has no task `b`"):
        list(inspect.follow_logs(str(project.home), execution.id, "b"))
